"""Draws the example images shipped in assets/ (made by this project, CC0)."""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

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


def invoice() -> Image.Image:
    """A one-page invoice, for document question answering (text drawn with Pillow's bundled CC0 font)."""
    img = Image.new("RGB", (600, 420), "white")
    d = ImageDraw.Draw(img)
    big, font = ImageFont.load_default(size=30), ImageFont.load_default(size=18)
    d.text((40, 30), "INVOICE", font=big, fill="#1d3557")
    d.text((380, 36), "No. INV-0042", font=font, fill="black")
    d.text((380, 62), "Date: 2024-03-15", font=font, fill="black")
    d.text((40, 100), "Bill to: Acme Robotics Ltd", font=font, fill="black")
    d.text((40, 126), "12 Harbour Road, Bristol", font=font, fill="black")
    d.line((40, 170, 560, 170), fill="#999999", width=2)
    rows = [("Item", "Qty", "Amount"), ("Servo motors", "4", "$480.00"), ("Sensor kit", "2", "$310.00"),
            ("Assembly (hours)", "6", "$444.50")]
    for i, (item, qty, amount) in enumerate(rows):
        y = 185 + 34 * i
        d.text((40, y), item, font=font, fill="black")
        d.text((360, y), qty, font=font, fill="black")
        d.text((460, y), amount, font=font, fill="black")
    d.line((40, 330, 560, 330), fill="#999999", width=2)
    d.text((330, 345), "Total due: $1,234.50", font=font, fill="#c1121f")
    return img


if __name__ == "__main__":
    shapes().save(HERE / "shapes.png")
    street().save(HERE / "street.png")
    invoice().save(HERE / "invoice.png")
