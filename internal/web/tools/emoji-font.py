#!/usr/bin/python3
"""emoji-font.py — build static/fonts/parley-emoji.woff2, the small colour
emoji font the web client falls back to when the machine has none.

It keeps from Noto Color Emoji (Debian's fonts-noto-color-emoji, SIL Open
Font License 1.1) only the emoji of the picker and quick reactions (every
non-ASCII string quoted in static/js/emoji.js) plus EXTRA, shrinks the bitmaps
(136×128 → 51×48 px, enough for the 15–21 px the client draws them at on a
2× screen), reduces them to 64-colour PNGs (a 256-colour palette alone is
1 kB), renames the family "Parley Emoji" (a modified version is renamed, as
the OFL asks of Modified Versions) and writes WOFF2. The licence travels
with it in static/fonts/OFL.txt.

Needs python3-fonttools, python3-brotli, python3-pil and pngquant:
    apt-get download fonts-noto-color-emoji && dpkg -x fonts-noto-color-emoji_*.deb x
    internal/web/tools/emoji-font.py x/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf \
        internal/web/static/js/emoji.js internal/web/static/fonts/parley-emoji.woff2
"""
import io
import re
import subprocess
import sys

from fontTools import subset
from fontTools.ttLib import TTFont
from PIL import Image

# Emoji used often enough in chat to ship beyond the picker's set.
EXTRA = "🎨⛰️⛺🥨👋🏖️🎂🍺🍰📎📷✔️➡️"
SCALE = 0.375
FAMILY = "Parley Emoji"


def main(src, js, out):
    text = open(js, encoding="utf-8").read()
    emoji = re.findall(r"'([^'\x00-\x7f]+)'", text) + [EXTRA]
    font = TTFont(src)
    opts = subset.Options()
    opts.layout_features = ["*"]
    opts.name_IDs = ["*"]
    opts.notdef_outline = False
    opts.layout_closure = False  # no skin tone or ZWJ variants: only what is listed
    sub = subset.Subsetter(opts)
    sub.populate(text="".join(emoji))
    sub.subset(font)

    for strike in font["CBDT"].strikeData:
        for g in strike.values():
            g.ensureDecompiled()
            im = Image.open(io.BytesIO(g.imageData)).convert("RGBA")
            w, h = round(im.width * SCALE), round(im.height * SCALE)
            im = im.resize((w, h), Image.LANCZOS)
            buf = io.BytesIO()
            im.save(buf, "PNG")
            png = subprocess.run(["pngquant", "--quality=50-95", "--speed=1", "64", "-"], input=buf.getvalue(), capture_output=True)
            g.imageData = png.stdout if png.returncode == 0 else buf.getvalue()
            m = g.metrics
            m.width, m.height = w, h
            for a in ("BearingX", "BearingY", "Advance", "horiBearingX", "horiBearingY", "horiAdvance", "vertBearingX", "vertBearingY", "vertAdvance"):
                if hasattr(m, a):
                    setattr(m, a, round(getattr(m, a) * SCALE))
    for s in font["CBLC"].strikes:
        b = s.bitmapSizeTable
        b.ppemX, b.ppemY = round(b.ppemX * SCALE), round(b.ppemY * SCALE)
        for lm in (b.hori, b.vert):
            for a in ("ascender", "descender", "widthMax", "minOriginSB", "minAdvanceSB", "maxBeforeBL", "minAfterBL"):
                setattr(lm, a, round(getattr(lm, a) * SCALE))

    name = font["name"]
    for rec in list(name.names):
        if rec.nameID in (1, 3, 4, 16):
            name.setName(FAMILY, rec.nameID, rec.platformID, rec.platEncID, rec.langID)
        elif rec.nameID == 6:
            name.setName(FAMILY.replace(" ", ""), rec.nameID, rec.platformID, rec.platEncID, rec.langID)
    font.flavor = "woff2"
    font.save(out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
