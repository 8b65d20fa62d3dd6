"""Files for the attachment tests, made here (never downloaded): images with hidden metadata, hostile files, and an
upload helper speaking ``POST /api/v1/attachments``."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import httpx
from PIL import ExifTags, Image, ImageDraw, ImageFont

from tests.servers import LiveServer

XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.4N"/></rdf:RDF>'
       b"</x:xmpmeta>")


def photo_with_metadata(width: int = 640, height: int = 480) -> bytes:
    """A JPEG carrying what a phone writes: GPS position, camera and date in EXIF, XMP, a comment, rotated."""
    # Drawn upright (a screenshot of threatening messages), stored turned a quarter left with EXIF orientation 6
    # (« turn right to view »), as phones do: the preview must come out upright.
    upright = Image.new("RGB", (height, width), (236, 229, 221))
    draw = ImageDraw.Draw(upright)
    font = ImageFont.load_default(size=max(10, height // 24))
    lines = ["Tu vas le regretter.", "Je sais tout sur toi.", "Rappelle-moi tout de suite.", "Je passe ce soir."]
    for n, line in enumerate(lines):
        top = (n + 1) * width // (len(lines) + 2)
        draw.rounded_rectangle((height // 12, top, height * 11 // 12, top + width // 10), radius=12,
                               fill=(255, 255, 255))
        draw.text((height // 8, top + width // 40), line, fill=(20, 20, 20), font=font)
    image = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TelephoneDeTest"
    exif[ExifTags.Base.DateTime] = "2026:03:12 21:14:03"
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 21.0, 7.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, xmp=XMP, comment=b"rue des Lilas", quality=90)
    return out.getvalue()


def screenshot_png(width: int = 390, height: int = 844) -> bytes:
    image = Image.new("RGBA", (width, height), (250, 250, 250, 255))
    image.paste((20, 20, 20, 255), (20, 40, width - 20, 60))
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=_png_text())
    return out.getvalue()


def _png_text() -> Any:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Camille")
    return info


def webp_image() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 100), (10, 120, 10)).save(out, "WEBP")
    return out.getvalue()


def pdf_document() -> bytes:
    """A one-page PDF written by hand (a few objects and a cross-reference table)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, content in enumerate(objects, 1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n".encode() + content + b"\nendobj\n"
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return body


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(side: int = 20_000) -> bytes:
    """A 1-bit PNG of side × side pixels, all black: a few hundred KB that would decode to hundreds of MB."""
    row = b"\x00" * (1 + side // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


HOSTILE: dict[str, tuple[str, bytes, str, int, str]] = {
    # key: (file name, bytes, declared type, expected status, expected code)
    "text_as_png": ("capture.png", b"Ceci n'est pas une image.\n" * 20, "image/png", 415, "attachment_type_refused"),
    "html_as_png": ("capture.png", b"<!doctype html><script>alert(document.cookie)</script>", "image/png", 415,
                    "attachment_type_refused"),
    "svg": ("dessin.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="4"/></svg>',
            "image/svg+xml", 415, "attachment_type_refused"),
    "svg_as_png": ("dessin.png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "image/png", 415,
                   "attachment_type_refused"),
    "heic": ("photo.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64, "image/heic", 415,
             "attachment_type_refused"),
    "executable": ("capture.jpg", b"MZ\x90\x00" + b"\x00" * 200, "image/jpeg", 415, "attachment_type_refused"),
    "gif": ("anim.gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
            b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;", "image/gif", 415, "attachment_type_refused"),
    "truncated_jpeg": ("photo.jpg", photo_with_metadata()[:2000], "image/jpeg", 422, "attachment_unreadable"),
    "png_header_only": ("capture.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png", 422,
                        "attachment_unreadable"),
    "pdf_truncated": ("doc.pdf", pdf_document()[:-40], "application/pdf", 422, "attachment_unreadable"),
    "empty": ("vide.png", b"", "image/png", 422, "attachment_unreadable"),
    "png_bomb": ("bombe.png", png_bomb(), "image/png", 413, "attachment_too_large"),
}


async def upload(server: LiveServer, token: str | None, data: bytes, *, name: str = "IMG_2026-03-12.jpg",
                 media_type: str = "image/jpeg", client_id: str = "a-1", keep_name: bool = False,
                 path: str = "/api/v1/attachments") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    fields = {"client_id": client_id, **({"keep_name": "1"} if keep_name else {})}
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        return await http.post(path, headers=headers, data=fields, files={"file": (name, data, media_type)})
