#!/usr/bin/python3
"""Draws the bundled test image, street.png: a synthetic street scene at 1024x512.

Procedural (sky, buildings with windows, trees, a road in perspective with lane marks,
sidewalks, cars, poles, a sign), so the repository ships no downloaded pictures. Deterministic:
re-running writes the same file.  usage: make_street.py [OUT.png]
"""
import random
import sys

from PIL import Image, ImageDraw, ImageFilter

W, H = 1024, 512
HORIZON = 215
VANISH_X = 540


def sky(draw):
    for y in range(HORIZON):
        t = y / HORIZON
        draw.line([(0, y), (W, y)], fill=(int(110 + 90 * t), int(160 + 70 * t), int(225 + 20 * t)))


def building(draw, rng, x0, x1, top, base, colour):
    draw.rectangle([x0, top, x1, base], fill=colour)
    dark = tuple(max(c - 60, 0) for c in colour)
    draw.rectangle([x0, top, x1, top + 6], fill=dark)  # cornice
    for wy in range(top + 18, base - 30, 28):
        for wx in range(x0 + 10, x1 - 18, 24):
            lit = rng.random() < 0.25
            draw.rectangle([wx, wy, wx + 12, wy + 16], fill=(235, 215, 140) if lit else (60, 75, 95))


def road(draw):
    draw.polygon([(0, H), (W, H), (W, 330), (VANISH_X + 40, HORIZON + 10), (VANISH_X - 40, HORIZON + 10), (0, 330)],
                 fill=(88, 88, 92))
    # Sidewalks on both sides, narrowing towards the horizon.
    draw.polygon([(0, 330), (VANISH_X - 40, HORIZON + 10), (VANISH_X - 70, HORIZON + 10), (0, 290)], fill=(170, 160, 150))
    draw.polygon([(W, 330), (VANISH_X + 40, HORIZON + 10), (VANISH_X + 70, HORIZON + 10), (W, 290)], fill=(170, 160, 150))
    # Dashed centre line: segments shrink with distance.
    for i in range(9):
        t0, t1 = (i + 0.1) / 9, (i + 0.55) / 9
        y0, y1 = H - (H - HORIZON - 12) * t0 ** 0.6, H - (H - HORIZON - 12) * t1 ** 0.6
        w0, w1 = 10 * (1 - t0) + 1, 10 * (1 - t1) + 1
        x0 = VANISH_X + (W / 2 - VANISH_X) * (1 - t0)
        x1 = VANISH_X + (W / 2 - VANISH_X) * (1 - t1)
        draw.polygon([(x0 - w0, y0), (x0 + w0, y0), (x1 + w1, y1), (x1 - w1, y1)], fill=(235, 235, 225))


def tree(draw, x, base, size):
    draw.rectangle([x - size // 10, base - size, x + size // 10, base], fill=(90, 65, 40))
    draw.ellipse([x - size // 2, base - 2 * size, x + size // 2, base - size + size // 5], fill=(55, 120, 50))
    draw.ellipse([x - size // 3, base - 2 * size - size // 4, x + size // 3, base - size - size // 5], fill=(70, 140, 60))


def car(draw, x, base, width, colour):
    height = width // 2
    draw.rounded_rectangle([x, base - height, x + width, base - height // 4], radius=width // 10, fill=colour)
    draw.polygon([(x + width // 5, base - height), (x + width // 3, base - height - height // 2),
                  (x + 2 * width // 3, base - height - height // 2), (x + 4 * width // 5, base - height)], fill=colour)
    draw.polygon([(x + width // 4, base - height), (x + width // 3 + 4, base - height - height // 2 + 5),
                  (x + 2 * width // 3 - 4, base - height - height // 2 + 5), (x + 3 * width // 4, base - height)],
                 fill=(150, 190, 215))
    for wx in (x + width // 5, x + 4 * width // 5):
        r = width // 9
        draw.ellipse([wx - r, base - height // 4 - r, wx + r, base - height // 4 + r], fill=(25, 25, 25))


def pole_and_sign(draw, x, base, height):
    draw.rectangle([x, base - height, x + 5, base], fill=(120, 120, 125))
    draw.rectangle([x - 10, base - height, x + 16, base - height + 22], fill=(40, 80, 170))
    draw.rectangle([x - 6, base - height + 8, x + 12, base - height + 13], fill=(240, 240, 240))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "street.png"
    rng = random.Random(4)
    image = Image.new("RGB", (W, H))
    draw = ImageDraw.Draw(image)
    sky(draw)
    palette = [(150, 110, 90), (185, 170, 150), (120, 120, 135), (200, 150, 110), (160, 160, 150)]
    x = 0
    while x < VANISH_X - 80:  # left row of buildings
        width = rng.randint(70, 130)
        building(draw, rng, x, x + width, rng.randint(40, 140), 300 - x // 8, rng.choice(palette))
        x += width + rng.randint(0, 6)
    x = W
    while x > VANISH_X + 80:  # right row
        width = rng.randint(70, 130)
        building(draw, rng, x - width, x, rng.randint(40, 140), 300 - (W - x) // 8, rng.choice(palette))
        x -= width + rng.randint(0, 6)
    road(draw)
    for tx, size in ((60, 70), (250, 45), (980, 75), (800, 48)):
        tree(draw, tx, 330 if tx < 200 or tx > 900 else 300, size)
    pole_and_sign(draw, 180, 335, 150)
    pole_and_sign(draw, 860, 325, 130)
    car(draw, 180, 470, 240, (180, 30, 35))
    car(draw, 640, 380, 150, (30, 60, 140))
    car(draw, 470, 290, 70, (220, 220, 220))
    image = image.filter(ImageFilter.SMOOTH)
    image.save(out, optimize=True)


if __name__ == "__main__":
    main()
