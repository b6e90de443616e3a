"""Draws the example images shipped in assets/ (made by this project, CC0)."""

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).parent


def shapes() -> Image.Image:
    img = Image.new("RGB", (320, 240), "#f4f1e8")
    d = ImageDraw.Draw(img)
    d.ellipse((30, 40, 130, 140), fill="#e63946")
    d.rectangle((170, 60, 290, 180), fill="#457b9d")
    d.polygon([(80, 220), (140, 150), (200, 220)], fill="#2a9d8f")
    return img


def street() -> Image.Image:
    img = Image.new("RGB", (480, 320), "#87ceeb")
    d = ImageDraw.Draw(img)
    d.rectangle((0, 220, 480, 320), fill="#555555")
    for x in range(0, 480, 60):
        d.rectangle((x + 10, 265, x + 40, 272), fill="#ffffff")
    d.rectangle((40, 80, 160, 220), fill="#b5651d")
    d.rectangle((300, 60, 440, 220), fill="#8b8b83")
    for wx in (60, 110):
        d.rectangle((wx, 110, wx + 30, 140), fill="#fffacd")
    d.rounded_rectangle((180, 180, 290, 235), radius=12, fill="#c1121f")
    d.ellipse((190, 222, 215, 247), fill="#111111")
    d.ellipse((255, 222, 280, 247), fill="#111111")
    d.ellipse((400, 20, 450, 70), fill="#ffd700")
    return img


if __name__ == "__main__":
    shapes().save(HERE / "shapes.png")
    street().save(HERE / "street.png")
