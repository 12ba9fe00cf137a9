"""The sparse autoencoder of the encryption system (after Ferdowsi et al., ICASSP 2020, with a spatial code).

Encoder: a 3x3 convolution, then per level a residual block and a strided 4x4 convolution that halves the
side (``widths``: the channels of each level, the last one the code's level), a residual block and a 1x1
convolution to ``code_channels`` maps: the dense code, (code_channels, side, side) flattened, of which a
top-k activation keeps the k largest-magnitude entries. The code keeps where in the face each entry acts
(64x64 becomes 8x8, not 2x2 as in the grouped-linear design it replaced). Decoder: the mirror, nearest
2x upsampling and a 3x3 convolution per level, residual blocks, a sigmoid to pixels in [0, 1].
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from faceleak.errors import FaceleakError


class CodeError(FaceleakError, ValueError):
    """A code of the wrong shape, or a sparsity k out of range."""


@dataclass(frozen=True)
class SparseAutoencoderConfig:
    """Shape of the network: input side and channels, channels per level, code maps, k."""

    image_size: int = 64
    channels: int = 1
    widths: tuple[int, ...] = (16, 32, 64, 64)
    code_channels: int = 16
    k: int = 128

    def __post_init__(self) -> None:
        halvings = len(self.widths) - 1
        if len(self.widths) < 2 or self.image_size % (1 << halvings):
            raise ValueError(f"image_size {self.image_size} must be a multiple of 2^{halvings} (one halving per level after the first)")
        check_k(self.k, self.code_size)

    @property
    def code_side(self) -> int:
        return self.image_size >> (len(self.widths) - 1)

    @property
    def code_size(self) -> int:
        return self.code_channels * self.code_side**2


def check_k(k: int, code_size: int) -> int:
    """``k`` if it is a whole number of kept entries in 1..code_size; a :class:`CodeError` otherwise."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= code_size:
        raise CodeError(f"k = {k!r} is out of range: expected an integer in 1..{code_size} (the code size)")
    return k


def top_k(code: torch.Tensor, k: int) -> torch.Tensor:
    """Keep each row's ``k`` largest-magnitude entries, zero the rest (ties broken by position)."""
    check_k(k, code.shape[-1])
    kept = code.abs().topk(k, dim=-1, sorted=False).indices
    return torch.zeros_like(code).scatter(-1, kept, code.gather(-1, kept))


class Residual(nn.Module):
    """x + conv(relu(conv(relu(x)))), 3x3 convolutions keeping the channels."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.first, self.second = (nn.Conv2d(channels, channels, 3, padding=1) for _ in range(2))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features + self.second(torch.relu(self.first(torch.relu(features))))


class SparseAutoencoder(nn.Module):
    """Faces (N, C, S, S) in [0, 1] to top-k sparse codes (N, code_size) and back."""

    def __init__(self, config: SparseAutoencoderConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.widths
        encoder: list[nn.Module] = [nn.Conv2d(config.channels, widths[0], 3, padding=1)]
        for inputs, outputs in zip(widths, widths[1:]):
            encoder += [Residual(inputs), nn.Conv2d(inputs, outputs, 4, stride=2, padding=1)]
        self.encoder = nn.Sequential(*encoder, Residual(widths[-1]), nn.ReLU(), nn.Conv2d(widths[-1], config.code_channels, 1))
        decoder: list[nn.Module] = [nn.Conv2d(config.code_channels, widths[-1], 3, padding=1), Residual(widths[-1])]
        for inputs, outputs in zip(widths[::-1], widths[-2::-1]):
            decoder += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(inputs, outputs, 3, padding=1), Residual(outputs)]
        self.decoder = nn.Sequential(*decoder, nn.ReLU(), nn.Conv2d(widths[0], config.channels, 3, padding=1))

    def dense_code(self, images: torch.Tensor) -> torch.Tensor:
        """The code before the top-k activation (N, code_size)."""
        return self.encoder(images).flatten(1)

    def encode(self, images: torch.Tensor, k: int | None = None) -> torch.Tensor:
        """Top-k sparse codes (``k`` defaults to the trained one)."""
        return top_k(self.dense_code(images), self.config.k if k is None else k)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Faces in [0, 1] from codes (N, code_size); a :class:`CodeError` for any other shape."""
        check_code_shape(codes, self.config.code_size)
        side = self.config.code_side
        return torch.sigmoid(self.decoder(codes.view(len(codes), self.config.code_channels, side, side)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(images))


def check_code_shape(codes: torch.Tensor, code_size: int) -> None:
    """A :class:`CodeError` unless ``codes`` is (N, code_size)."""
    if codes.ndim != 2 or codes.shape[1] != code_size:
        raise CodeError(f"a code batch must have shape (N, {code_size}); got {tuple(codes.shape)}")


def save_sparse_autoencoder(model: SparseAutoencoder, path: str | Path) -> None:
    """The weights and, beside them, the config (plain values, so loading never unpickles code)."""
    from faceleak.io import save_weights

    save_weights(path, {**model.state_dict(), **{f"config.{key}": torch.tensor(value) for key, value in asdict(model.config).items()}})


def load_sparse_autoencoder(path: str | Path) -> SparseAutoencoder:
    """A model saved by :func:`save_sparse_autoencoder`, in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sparse autoencoder weights {path} are missing; run the encryption_train stage")
    state = torch.load(path, map_location="cpu", weights_only=True)
    fields = {key.removeprefix("config."): state.pop(key).tolist() for key in [key for key in state if key.startswith("config.")]}
    model = SparseAutoencoder(SparseAutoencoderConfig(**{key: tuple(value) if isinstance(value, list) else value for key, value in fields.items()}))
    model.load_state_dict(state)
    return model.eval()
