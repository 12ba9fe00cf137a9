"""The grouped top-k sparse autoencoder of the encryption system (after Ferdowsi et al., ICASSP 2020).

Encoder: blocks of parallel 1x1 / 3x3 / 5x5 convolutions, concatenated, batch-normalised, ReLU, then
2x2 max-pooling; the pooled features pass through stacked grouped linear layers (each group of feature
channels maps to its own slice of the code) to a dense code, of which a top-k activation keeps the k
largest-magnitude entries. Decoder: the mirror, grouped linear layers back to the feature map, then
blocks of 2x upsampling and parallel 5x5 / 3x3 / 1x1 convolutions, a sigmoid to pixels in [0, 1].
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
    """Shape of the network: input side and channels, branch widths per block, code size, groups, k."""

    image_size: int = 64
    channels: int = 1
    widths: tuple[int, ...] = (8, 16, 32, 48, 64)
    code_size: int = 1024
    groups: int = 4
    group_layers: int = 2
    k: int = 128

    def __post_init__(self) -> None:
        side = self.image_size >> len(self.widths)
        if side < 1 or side << len(self.widths) != self.image_size:
            raise ValueError(f"image_size {self.image_size} must be a multiple of 2^{len(self.widths)} (one halving per block)")
        if self.code_size % self.groups or (3 * self.widths[-1]) % self.groups:
            raise ValueError(f"code_size {self.code_size} and the last block's {3 * self.widths[-1]} channels must divide into {self.groups} groups")
        check_k(self.k, self.code_size)

    @property
    def feature_side(self) -> int:
        return self.image_size >> len(self.widths)

    @property
    def feature_size(self) -> int:
        return 3 * self.widths[-1] * self.feature_side**2


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


class ParallelConvolutions(nn.Module):
    """Parallel convolutions of the given odd kernel sizes, concatenated, batch-normalised, ReLU."""

    def __init__(self, in_channels: int, width: int, kernels: tuple[int, ...]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(nn.Conv2d(in_channels, width, size, padding=size // 2) for size in kernels)
        self.norm = nn.BatchNorm2d(width * len(kernels))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.norm(torch.cat([branch(images) for branch in self.branches], dim=1)))


def grouped_linear_stack(sizes: list[int], groups: int) -> nn.Sequential:
    """Grouped linear layers (1x1 grouped convolutions on a length-1 sequence) between ``sizes``, ReLU between them."""
    layers: list[nn.Module] = []
    for index, (inputs, outputs) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Conv1d(inputs, outputs, 1, groups=groups))
        if index < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class SparseAutoencoder(nn.Module):
    """Faces (N, C, S, S) in [0, 1] to top-k sparse codes (N, code_size) and back."""

    def __init__(self, config: SparseAutoencoderConfig) -> None:
        super().__init__()
        self.config = config
        widths, channels = config.widths, config.channels
        self.encoder = nn.Sequential(
            *(nn.Sequential(ParallelConvolutions(inputs, width, (1, 3, 5)), nn.MaxPool2d(2)) for inputs, width in zip([channels, *(3 * w for w in widths[:-1])], widths))
        )
        steps = [config.feature_size] + [config.code_size] * config.group_layers
        self.to_code = grouped_linear_stack(steps, config.groups)
        self.from_code = grouped_linear_stack(steps[::-1], config.groups)
        reversed_widths = widths[::-1]
        self.decoder = nn.Sequential(
            *(
                nn.Sequential(nn.Upsample(scale_factor=2), ParallelConvolutions(3 * inputs, width, (5, 3, 1)))
                for inputs, width in zip(reversed_widths, [*reversed_widths[1:], reversed_widths[-1]])
            ),
            nn.Conv2d(3 * reversed_widths[-1], channels, 1),
        )

    def dense_code(self, images: torch.Tensor) -> torch.Tensor:
        """The code before the top-k activation (N, code_size)."""
        features = self.encoder(images)
        return self.to_code(features.flatten(1, -1)[..., None]).squeeze(-1)

    def encode(self, images: torch.Tensor, k: int | None = None) -> torch.Tensor:
        """Top-k sparse codes (``k`` defaults to the trained one)."""
        return top_k(self.dense_code(images), self.config.k if k is None else k)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Faces in [0, 1] from codes (N, code_size); a :class:`CodeError` for any other shape."""
        check_code_shape(codes, self.config.code_size)
        config = self.config
        features = self.from_code(codes[..., None]).view(len(codes), 3 * config.widths[-1], config.feature_side, config.feature_side)
        return torch.sigmoid(self.decoder(features))

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
