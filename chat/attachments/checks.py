"""What is accepted, by content and never by name: JPEG, PNG, WebP and PDF, recognised by their first bytes.

Images are decoded by Pillow once, at upload, under a pixel bound checked from the header before any decoding; the
decode yields the preview staff see: re-encoded from bare pixels, so no EXIF, XMP, GPS, comment or ICC profile
survives. PDFs are checked for their header and end marker and never rendered. Everything else is refused —
SVG and HTML above all, which a browser would run. HEIC/HEIF is refused with a hint (see ``HEIC``).
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

# The preview's longest side: a phone screenshot (1170 × 2532) stays readable at 740 × 1600, a photo is plenty; it
# weighs 100–400 KB as JPEG.
PREVIEW_EDGE = 1600
# JPEG quality of the preview: text in screenshots stays sharp, the preview stays small.
PREVIEW_QUALITY = 85
# A PDF ends with "%%EOF" followed at most by a few bytes of line ends (or trailing garbage some tools add); 1 KiB
# of tail finds it in any file written by a real program, and a truncated upload does not pass.
PDF_TAIL = 1024

IMAGE_TYPES = {"image/jpeg": ("JPEG", "jpg"), "image/png": ("PNG", "png"), "image/webp": ("WEBP", "webp")}
PDF = "application/pdf"
# ftyp brands of HEIF files (iPhone photos). Decoding them needs libheif and an HEVC decoder (pillow-heif bundles
# both in its wheel, outside the distribution's security updates): a large C attack surface for hostile input, for
# files that phones rarely send (iOS converts photos to JPEG when a web page asks for them). Refused with a hint.
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif")

TYPE_REFUSED = ("Ce type de fichier n'est pas accepté. Vous pouvez envoyer des captures d'écran et des photos (JPEG, "
                "PNG, WebP) et des documents PDF.")
HEIC = ("Les photos au format HEIC ne sont pas acceptées. Envoyez une capture d'écran de la photo, ou réglez "
        "l'appareil photo sur « Le plus compatible » (JPEG), puis réessayez.")
UNREADABLE = "Ce fichier semble abîmé ou incomplet : il n'a pas pu être lu. Essayez de l'enregistrer à nouveau."
EMPTY = "Ce fichier est vide."


class Refused(Exception):
    """An upload that is not kept: ``status`` and ``code`` for the API, ``message`` in French."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


def too_large(max_bytes: int) -> Refused:
    mib = max_bytes / (1024 * 1024)
    return Refused(413, "attachment_too_large", f"Ce fichier est trop lourd : {mib:.0f} Mo au plus par fichier. "
                   "Pour une vidéo, faites plutôt des captures d'écran des moments importants.")


def too_many_pixels(max_pixels: int) -> Refused:
    return Refused(413, "attachment_too_large", f"Cette image est trop grande ({max_pixels // 1_000_000} millions de "
                   "pixels au plus). Faites-en une capture d'écran, ou réduisez-la, puis réessayez.")


@dataclass(frozen=True)
class Checked:
    """An accepted file: its exact bytes, their digest (the receipt), and for an image its preview."""

    data: bytes
    media_type: str
    extension: str
    sha256: str
    width: int | None = None
    height: int | None = None
    preview: bytes | None = None

    @property
    def size(self) -> int:
        return len(self.data)


def sniff(head: bytes) -> str | None:
    """The media type the first bytes announce, among those accepted; None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def is_heif(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS


def check(data: bytes, max_pixels: int) -> Checked:
    """Accept ``data`` by its content or raise Refused. CPU-bound for images: run it in a thread."""
    if not data:
        raise Refused(422, "attachment_unreadable", EMPTY)
    media_type = sniff(data[:16])
    digest = hashlib.sha256(data).hexdigest()
    if media_type is None:
        raise Refused(415, "attachment_type_refused", HEIC if is_heif(data[:16]) else TYPE_REFUSED)
    if media_type == PDF:
        if b"%%EOF" not in data[-PDF_TAIL:]:
            raise Refused(422, "attachment_unreadable", UNREADABLE)
        return Checked(data, PDF, "pdf", digest)
    width, height, preview = _image(data, IMAGE_TYPES[media_type][0], max_pixels)
    return Checked(data, media_type, IMAGE_TYPES[media_type][1], digest, width, height, preview)


# What Pillow raises on hostile or broken input, short of a crash: truncated data, bad chunks, absurd headers.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, TypeError, ZeroDivisionError,
                  MemoryError)


def _image(data: bytes, pil_format: str, max_pixels: int) -> tuple[int, int, bytes]:
    """Open with the one decoder the first bytes named, refuse from the header past ``max_pixels``, decode, and
    re-encode a preview from bare pixels."""
    # Pillow's own guard, set to the same bound: it refuses a bomb inside open() even if the check below were skipped.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[pil_format]) as image:
                width, height = image.size
                if width <= 0 or height <= 0:
                    raise Refused(422, "attachment_unreadable", UNREADABLE)
                if width * height > max_pixels:
                    raise too_many_pixels(max_pixels)
                # JPEG decodes straight at a reduced scale (DCT scaling): a 48 MP photo costs a fraction of it.
                image.draft("RGB", (PREVIEW_EDGE, PREVIEW_EDGE))
                image.load()
                upright = ImageOps.exif_transpose(image)  # the orientation is applied, then forgotten with the rest
                return width, height, _preview(upright)
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many_pixels(max_pixels) from None  # Pillow's guard saw it first (its header is past 2× the bound)
    except _DECODE_ERRORS:
        raise Refused(422, "attachment_unreadable", UNREADABLE) from None


def _preview(image: Image.Image) -> bytes:
    small = image.copy()
    small.thumbnail((PREVIEW_EDGE, PREVIEW_EDGE))
    if small.mode in ("RGBA", "LA", "PA") or (small.mode == "P" and "transparency" in small.info):
        rgba = small.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))  # a transparent screenshot on white, as a page shows it
        small = flat
    else:
        small = small.convert("RGB")
    # Bare pixels into a new image: no info dictionary, so no EXIF, XMP, ICC profile or comment can ride along.
    bare = Image.frombytes("RGB", small.size, small.tobytes())
    out = io.BytesIO()
    bare.save(out, "JPEG", quality=PREVIEW_QUALITY, optimize=True)
    return out.getvalue()
