"""The sparse autoencoder of the encryption system (after Ferdowsi et al., ICASSP 2020, with a spatial code).

Encoder: a 3x3 convolution, then per level a residual block and a strided 4x4 convolution that halves the
side (``widths``: the channels of each level, the last one the code's level), a residual block and a 1x1
convolution to ``code_channels`` maps: the dense code, (code_channels, side, side) flattened, of which a
top-k activation keeps the k largest-magnitude entries. The code keeps where in the face each entry acts
(64x64 becomes 8x8, not 2x2 as in the grouped-linear design it replaced). Decoder: the mirror, nearest
2x upsampling and a 3x3 convolution per level, residual blocks, a sigmoid to pixels in [0, 1].

With ``pca_path`` a linear path runs beside the deep one: each code cell's entries also take, and give
back, the cell's pixels along ``code_channels`` atoms (a strided convolution and its transpose) about a
mean face, and the output is that linear face plus the deep decoder's correction, clipped to [0, 1].
:func:`init_from_pca` starts the atoms at the principal components of training faces' cells, so training
starts from a sparse patch-PCA code instead of noise.
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
    pca_path: bool = False

    def __post_init__(self) -> None:
        halvings = len(self.widths) - 1
        if len(self.widths) < 2 or self.image_size % (1 << halvings):
            raise ValueError(f"image_size {self.image_size} must be a multiple of 2^{halvings} (one halving per level after the first)")
        if self.pca_path and self.code_channels > self.channels * self.cell**2:
            raise ValueError(f"code_channels {self.code_channels} exceed the {self.channels * self.cell**2} numbers of a {self.cell}x{self.cell} cell (pca_path)")
        check_k(self.k, self.code_size)

    @property
    def cell(self) -> int:
        """The side of the pixel cell one code position covers."""
        return 1 << (len(self.widths) - 1)

    @property
    def code_side(self) -> int:
        """The code maps' side: one position per cell."""
        return self.image_size // self.cell

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
        if config.pca_path:
            self.mean_face = nn.Parameter(torch.zeros(1, config.channels, config.image_size, config.image_size))
            self.analysis = nn.Conv2d(config.channels, config.code_channels, config.cell, stride=config.cell, bias=False)
            self.synthesis = nn.ConvTranspose2d(config.code_channels, config.channels, config.cell, stride=config.cell, bias=False)

    def dense_code(self, images: torch.Tensor) -> torch.Tensor:
        """The code before the top-k activation (N, code_size)."""
        code = self.encoder(images)
        if self.config.pca_path:
            code = code + self.analysis(images * 2 - 1 - self.mean_face)
        return code.flatten(1)

    def encode(self, images: torch.Tensor, k: int | None = None) -> torch.Tensor:
        """Top-k sparse codes (``k`` defaults to the trained one)."""
        return top_k(self.dense_code(images), self.config.k if k is None else k)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Faces in [0, 1] from codes (N, code_size); a :class:`CodeError` for any other shape."""
        check_code_shape(codes, self.config.code_size)
        side = self.config.code_side
        maps = codes.view(len(codes), self.config.code_channels, side, side)
        if not self.config.pca_path:
            return torch.sigmoid(self.decoder(maps))
        return (self.decoder(maps) + self.synthesis(maps) + self.mean_face).clamp(-1, 1).add(1).div(2)

    def decoding_parameters(self) -> list[nn.Parameter]:
        """The parameters a decoder of this architecture trains (the deep decoder and, with it, the linear path's)."""
        linear = [self.mean_face, *self.synthesis.parameters()] if self.config.pca_path else []
        return [*self.decoder.parameters(), *linear]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(images))


def check_code_shape(codes: torch.Tensor, code_size: int) -> None:
    """A :class:`CodeError` unless ``codes`` is (N, code_size)."""
    if codes.ndim != 2 or codes.shape[1] != code_size:
        raise CodeError(f"a code batch must have shape (N, {code_size}); got {tuple(codes.shape)}")


DEEP_START = 0.1  # the deep paths' last layers start at this share of their default scale, so the linear path leads


def init_from_pca(model: SparseAutoencoder, faces: torch.Tensor) -> SparseAutoencoder:
    """Start a ``pca_path`` model from ``faces`` (N, C, S, S) in [0, 1]: the mean face, the leading principal
    components of the cells' pixels about it as the linear path's atoms, the deep paths' last layers small."""
    config = model.config
    centred = faces * 2 - 1 - (mean := (faces * 2 - 1).mean(0, keepdim=True))
    cells = nn.functional.unfold(centred, config.cell, stride=config.cell).transpose(1, 2).flatten(0, 1).double()
    atoms = torch.linalg.eigh(cells.T @ cells).eigenvectors.flip(-1)[:, : config.code_channels].T.float()  # largest variance first
    with torch.no_grad():
        model.mean_face.copy_(mean)
        for layer in (model.analysis, model.synthesis):
            layer.weight.copy_(atoms.view_as(layer.weight))
        for last in (model.encoder[-1], model.decoder[-1]):
            last.weight.mul_(DEEP_START)
            last.bias.zero_()
    return model


def new_sparse_autoencoder(config: SparseAutoencoderConfig, faces: torch.Tensor) -> SparseAutoencoder:
    """A model to train, started from ``faces``' PCA where the config has the linear path."""
    model = SparseAutoencoder(config)
    return init_from_pca(model, faces) if config.pca_path else model


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
