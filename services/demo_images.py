"""Illustrations for the demo articles, drawn with Pillow so the repository ships no photos."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw

W, H = 1200, 675


def _gradient(draw: ImageDraw.ImageDraw, top: tuple, bottom: tuple, y0: int, y1: int) -> None:
    for y in range(y0, y1):
        t = (y - y0) / max(1, y1 - y0)
        draw.line([(0, y), (W, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))


def harbour(seed: int, sky: tuple, sea: tuple, sun: tuple) -> Image.Image:
    rnd = random.Random(seed)
    img = Image.new("RGB", (W, H))
    d = ImageDraw.Draw(img)
    horizon = int(H * 0.58)
    _gradient(d, sky, (245, 222, 190), 0, horizon)
    sx = rnd.randint(200, 1000)
    d.ellipse([sx - 60, horizon - 170, sx + 60, horizon - 50], fill=sun)
    # hills
    for layer, shade in enumerate(((92, 120, 110), (64, 92, 84))):
        pts = [(0, horizon)]
        x = 0
        while x < W:
            x += rnd.randint(80, 180)
            pts.append((x, horizon - rnd.randint(30, 110) + layer * 40))
        pts += [(W, horizon), (0, horizon)]
        d.polygon(pts, fill=shade)
    _gradient(d, sea, (20, 48, 70), horizon, H)
    for _ in range(40):
        y = rnd.randint(horizon + 10, H - 10)
        x = rnd.randint(0, W)
        d.line([(x, y), (x + rnd.randint(20, 70), y)], fill=(200, 220, 230), width=2)
    # boats
    for _ in range(rnd.randint(2, 4)):
        bx, by = rnd.randint(100, W - 200), rnd.randint(horizon + 40, H - 60)
        d.polygon([(bx, by), (bx + 120, by), (bx + 100, by + 25), (bx + 20, by + 25)], fill=(150, 40, 30))
        d.line([(bx + 60, by), (bx + 60, by - 90)], fill=(60, 50, 40), width=4)
        d.polygon([(bx + 62, by - 88), (bx + 62, by - 10), (bx + 115, by - 10)], fill=(240, 235, 220))
    return img


def town(seed: int) -> Image.Image:
    rnd = random.Random(seed)
    img = Image.new("RGB", (W, H))
    d = ImageDraw.Draw(img)
    _gradient(d, (120, 170, 210), (230, 236, 240), 0, H)
    ground = int(H * 0.8)
    x = 0
    while x < W:
        w = rnd.randint(90, 170)
        h = rnd.randint(160, 330)
        colour = rnd.choice([(222, 120, 90), (240, 200, 120), (130, 170, 190), (235, 230, 215), (170, 120, 150)])
        d.rectangle([x, ground - h, x + w, ground], fill=colour)
        d.polygon([(x - 6, ground - h), (x + w // 2, ground - h - 50), (x + w + 6, ground - h)], fill=(90, 60, 55))
        for wy in range(ground - h + 30, ground - 40, 55):
            for wx in range(x + 15, x + w - 25, 40):
                d.rectangle([wx, wy, wx + 20, wy + 28], fill=(60, 80, 100))
        x += w + rnd.randint(4, 14)
    d.rectangle([0, ground, W, H], fill=(110, 110, 105))
    return img


def field(seed: int) -> Image.Image:
    rnd = random.Random(seed)
    img = Image.new("RGB", (W, H))
    d = ImageDraw.Draw(img)
    _gradient(d, (100, 150, 200), (200, 220, 235), 0, int(H * 0.45))
    _gradient(d, (70, 140, 70), (40, 100, 45), int(H * 0.45), H)
    for i in range(0, W, 60):
        d.line([(W // 2, int(H * 0.45)), (i * 2 - W // 2, H)], fill=(90, 160, 90), width=3)
    d.rectangle([W // 2 - 140, int(H * 0.47), W // 2 + 140, int(H * 0.47) + 6], fill=(250, 250, 250))
    for _ in range(14):
        px, py = rnd.randint(80, W - 80), rnd.randint(int(H * 0.55), H - 60)
        colour = rnd.choice([(200, 30, 40), (30, 60, 160)])
        d.ellipse([px - 10, py - 50, px + 10, py - 30], fill=(230, 190, 160))
        d.rectangle([px - 12, py - 30, px + 12, py], fill=colour)
    return img


def save_all(folder: Path) -> dict[str, str]:
    """Draw the demo illustrations into ``folder``; returns name -> file name."""
    folder.mkdir(parents=True, exist_ok=True)
    pictures = {
        "harbour": harbour(3, (250, 170, 120), (40, 90, 120), (255, 220, 150)),
        "ferry": harbour(11, (150, 190, 225), (30, 80, 120), (255, 250, 220)),
        "town": town(5),
        "field": field(7),
        "reef": harbour(21, (120, 190, 220), (20, 120, 140), (255, 245, 200)),
        "market": town(9),
    }
    names = {}
    for key, image in pictures.items():
        name = f"demo-{key}.jpg"
        image.save(folder / name, "JPEG", quality=82, optimize=True)
        names[key] = name
    return names
