"""``faceleak-share``: share a face so that only the holder of its key sees it (the ``keyed`` scheme).

``faceleak-share lock PHOTO SHARES`` finds the face (MTCNN, framed like the pipeline's crops), encodes it
with the encryption system's trained sparse autoencoder (grey, 64x64, k nonzeros), and writes the published
shares to SHARES and the key to ``SHARES.key`` (or ``--key``). ``faceleak-share unlock SHARES KEY OUT.png``
writes the face back. Both refuse to write over their input or over an existing file (``--force`` replaces
an existing output; never an input), and answer bad input in one line with a non-zero exit.

Shares file (``.npz``, read without pickles): ``format`` ("faceleak-shares/3"), ``code_size`` (entries per
code), ``positions`` (n, m) uint16 and ``values`` (n, m) float16: each published code's m nonzero entries (the
true code among n - 1 decoys, every code's entries sign-flipped and permuted by the key's seed; 8 codes of 128 nonzeros take
4,096 bytes), ``model`` (sha256 of the autoencoder's weights file), ``checksum`` (sha256 of format, model,
code size, positions and values: a truncated or edited file is refused) and ``tag`` (HMAC-SHA256 of the same
under the key's secret: a key that does not belong to the shares is refused, never decoded into a wrong face).
Files of the earlier formats still unlock: "faceleak-shares/2" (as /3, the entries permuted but no signs
flipped) and "faceleak-shares/1" (``codes`` (n, code_size) float32, dense; permuted only).
Key file (JSON): ``format`` ("faceleak-share-key/1"), ``index`` (the true code's position), ``seed`` (the
scrambling's 63-bit seed) and ``secret`` (32 random bytes, hex).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import secrets
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from faceleak.attacks.sparse_code import decode
from faceleak.cli import atomic_output, error_line, project_file, refuse_overwrite
from faceleak.data.align import central_box, crop
from faceleak.data.images import BadImageError, open_image
from faceleak.defenses.sparse_sharing import SharedCodes, WrongKeyError, share, unlock
from faceleak.errors import FaceleakError
from faceleak.models.sparse_autoencoder import load_sparse_autoencoder
from faceleak.systems.encryption.params import load_encryption_params
from faceleak.systems.encryption.steps import encode, model_faces, pixels

PROGRAM = "faceleak-share"
SHARES_FORMAT, KEY_FORMAT = "faceleak-shares/3", "faceleak-share-key/1"
PERMUTED_SHARES_FORMAT, DENSE_SHARES_FORMAT = "faceleak-shares/2", "faceleak-shares/1"  # before the keyed scheme flipped signs
MODEL = Path("models/encryption/autoencoder.pt")
COMPACT = ("code_size", "positions", "values")
STORED = {SHARES_FORMAT: COMPACT, PERMUTED_SHARES_FORMAT: COMPACT, DENSE_SHARES_FORMAT: ("codes",)}  # what each format's codes are stored as


class SharesError(FaceleakError, ValueError):
    """A shares or key file that is not one, is damaged, or does not fit."""


@dataclass(frozen=True)
class ShareKey:
    """What only the key-holder has."""

    index: int
    seed: int
    secret: bytes

    def dump(self) -> str:
        return json.dumps({"format": KEY_FORMAT, "index": self.index, "seed": str(self.seed), "secret": self.secret.hex()}, indent=2) + "\n"

    @classmethod
    def read(cls, path: Path) -> ShareKey:
        try:
            raw = json.loads(path.read_text())
            if raw.get("format") != KEY_FORMAT:
                raise ValueError(f"format {raw.get('format')!r}")
            return cls(int(raw["index"]), int(raw["seed"]), bytes.fromhex(raw["secret"]))
        except FileNotFoundError as error:
            raise SharesError(f"key file {path} does not exist") from error
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise SharesError(f"{path} is not a {PROGRAM} key file ({error}); give the .key file written by '{PROGRAM} lock'") from error


def compact(codes: np.ndarray) -> dict[str, np.ndarray]:
    """Codes (n, D) with m nonzeros each (the true code's count, shared by its decoys) as ``positions``
    (n, m) uint16 (uint32 for codes above 65,536 entries) and ``values`` (n, m) float16, with ``code_size`` D."""
    positions = np.stack([np.flatnonzero(code) for code in codes]).astype("<u2" if codes.shape[1] <= 1 << 16 else "<u4")
    return {"code_size": np.int64(codes.shape[1]), "positions": positions, "values": np.take_along_axis(codes, positions.astype(np.int64), 1).astype("<f2")}


def dense(fields: dict[str, np.ndarray]) -> np.ndarray:
    """The codes (n, code_size) float32 of a shares file's fields, any format."""
    if str(fields["format"]) == DENSE_SHARES_FORMAT:
        return np.asarray(fields["codes"], "<f4")
    positions, values = fields["positions"].astype(np.int64), fields["values"]
    if positions.shape != values.shape or positions.ndim != 2 or (positions >= int(fields["code_size"])).any():
        raise ValueError(f"positions {positions.shape} and values {values.shape} do not make codes of {int(fields['code_size'])} entries")
    codes = np.zeros((len(positions), int(fields["code_size"])), "<f4")
    np.put_along_axis(codes, positions, values.astype("<f4"), 1)
    return codes


def covered_bytes(fields: dict[str, np.ndarray]) -> bytes:
    """What the checksum and the tag cover: the format, the model and the codes as stored."""
    return str(fields["format"]).encode() + bytes.fromhex(str(fields["model"])) + b"".join(np.ascontiguousarray(fields[name]).tobytes() for name in STORED[str(fields["format"])])


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_shares(path: Path, codes: np.ndarray, model: str, key: ShareKey) -> None:
    """The published shares in the compact format, atomically."""
    fields = {"format": np.str_(SHARES_FORMAT), "model": np.str_(model), **compact(codes)}
    payload = covered_bytes(fields)
    with atomic_output(path) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, **fields, checksum=hashlib.sha256(payload).hexdigest(), tag=hmac.new(key.secret, payload, hashlib.sha256).hexdigest())


def read_shares(path: Path) -> tuple[np.ndarray, str, bytes, str, str]:
    """The codes (n, code_size), the model's sha256, the bytes the tag covers, the tag and the format of a
    shares file (any format) whose checksum holds."""
    unreadable = f"{path} is not a readable {PROGRAM} shares file (truncated, damaged or another file)"
    try:
        with np.load(path, allow_pickle=False) as stored:
            fields = {name: stored[name] for name in stored.files}
    except FileNotFoundError as error:
        raise SharesError(f"shares file {path} does not exist") from error
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise SharesError(f"{unreadable}: {error}") from error
    if str(fields.get("format")) not in STORED:
        raise SharesError(f"{path} has format {str(fields.get('format'))!r}, not {SHARES_FORMAT!r}")
    try:
        payload = covered_bytes(fields)
    except (KeyError, ValueError) as error:
        raise SharesError(f"{unreadable}: {error}") from error
    if hashlib.sha256(payload).hexdigest() != str(fields.get("checksum")):
        raise SharesError(f"{path} was changed after it was written (its checksum does not match); ask for the shares again")
    try:
        return dense(fields), str(fields["model"]), payload, str(fields["tag"]), str(fields["format"])
    except (KeyError, ValueError) as error:
        raise SharesError(f"{unreadable}: {error}") from error


def face_of(photo: Path, size: int, margin: int) -> np.ndarray:
    """The photo's central face framed as the pipeline crops it (MTCNN, found in colour), then made grey:
    uint8 (1, size, size, 1)."""
    from facenet_pytorch import MTCNN

    image = open_image(photo, "RGB")  # a missing or unreadable photo: one line naming it
    boxes, _ = MTCNN(keep_all=True, device=torch.device("cpu")).detect(image)
    if boxes is None:
        raise FaceleakError(f"no face found in {photo}; give a photo where the face is visible and not too small")
    face = crop(image, central_box(np.asarray(boxes, dtype=np.float64)[:, :4], image.width, image.height), size, margin)
    return np.asarray(Image.fromarray(face).convert("L"))[None, ..., None]


def lock(photo: Path, shares_path: Path, key_path: Path, params_path: Path, model_path: Path) -> ShareKey:
    """Encode the photo's face and write its shares and key."""
    params = load_encryption_params(params_path)
    model = load_sparse_autoencoder(model_path)
    code = encode(model, model_faces(face_of(photo, params.lfw.face_size, params.lfw.margin), params.model.image_size))
    shared = share(code, params.codes, "keyed", secrets.randbits(63))
    key = ShareKey(int(shared.index[0]), int(shared.seed[0]), secrets.token_bytes(32))
    write_shares(shares_path, shared.codes[0], file_sha256(model_path), key)
    with atomic_output(key_path, private=True) as temporary:
        temporary.write_text(key.dump())
    return key


def unlock_face(shares_path: Path, key_path: Path, model_path: Path) -> np.ndarray:
    """The key-holder's face (S, S) uint8 from the shares and the key (refused if the key does not belong)."""
    codes, model_sha, payload, tag, stored_format = read_shares(shares_path)
    key = ShareKey.read(key_path)
    if not hmac.compare_digest(hmac.new(key.secret, payload, hashlib.sha256).hexdigest(), tag):
        raise WrongKeyError(f"the key {key_path} does not belong to the shares {shares_path}; use the key written with them")
    if model_sha != file_sha256(model_path):
        raise SharesError(f"{shares_path} was made with another autoencoder (sha256 {model_sha[:12]}...) than {model_path}; unlock with the model that locked it")
    shared = SharedCodes(codes[None], np.array([key.index]), np.array([key.seed], np.int64), "keyed", flipped=stored_format == SHARES_FORMAT)
    return pixels(decode(load_sparse_autoencoder(model_path), unlock(shared)))[0, ..., 0]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description="Share a face so that only the holder of its key sees it.")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file with the encryption section (default: the project's)")
    parser.add_argument("--model", type=Path, default=MODEL, help="the trained sparse autoencoder (default: the project's encryption_train output)")
    parser.add_argument("--force", action="store_true", help="replace outputs that already exist (never an input)")
    commands = parser.add_subparsers(dest="command", required=True)
    locking = commands.add_parser("lock", help="find the face in PHOTO and write its shares and key")
    locking.add_argument("photo", type=Path)
    locking.add_argument("shares", type=Path, help="the shares file to publish")
    locking.add_argument("--key", type=Path, default=None, help="where to write the key (default: SHARES with .key added)")
    unlocking = commands.add_parser("unlock", help="write the face that KEY opens in SHARES")
    unlocking.add_argument("shares", type=Path)
    unlocking.add_argument("key", type=Path)
    unlocking.add_argument("output", type=Path, help="the face, as a PNG")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``faceleak-share``."""
    arguments = _parser().parse_args(argv)
    model_path = project_file(arguments.model)
    try:
        if not model_path.is_file():
            raise FaceleakError(f"the trained autoencoder {model_path} does not exist; run 'dvc repro encryption_train' in the project, or pass --model")
        if arguments.command == "lock":
            key_path = arguments.key or arguments.shares.with_name(arguments.shares.name + ".key")
            refuse_overwrite([arguments.shares, key_path], [arguments.photo], arguments.force)
            lock(arguments.photo, arguments.shares, key_path, project_file(arguments.params), model_path)
            print(f"{PROGRAM}: shares written to {arguments.shares} (publish these); key written to {key_path} (keep it; give it only to who may see the face)")
        else:
            if arguments.output.suffix.lower() != ".png":
                raise FaceleakError(f"{arguments.output} must end in .png (the face is written as a PNG)")
            refuse_overwrite([arguments.output], [arguments.shares, arguments.key], arguments.force)
            face = unlock_face(arguments.shares, arguments.key, model_path)
            with atomic_output(arguments.output) as temporary:
                Image.fromarray(face).save(temporary, format="PNG")
            print(f"{PROGRAM}: face written to {arguments.output}")
    except (FaceleakError, BadImageError) as error:
        return error_line(PROGRAM, error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
