import torch

from faceleak import compat


def test_nms_reference_keeps_highest_and_drops_overlaps():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30], [0, 0, 9, 9.0]])
    scores = torch.tensor([0.6, 0.9, 0.7, 0.1])
    assert compat.nms_reference(boxes, scores, 0.5).tolist() == [1, 2]
    assert compat.nms_reference(boxes, scores, 0.99).tolist() == [1, 2, 0, 3]
    assert compat.nms_reference(torch.empty(0, 4), torch.empty(0), 0.5).numel() == 0


def test_torchvision_nms_works_after_the_step():
    import torchvision.ops

    generator = torch.Generator().manual_seed(0)
    corners = torch.rand(200, 2, generator=generator) * 100
    boxes = torch.cat([corners, corners + 5 + torch.rand(200, 2, generator=generator) * 30], dim=1)
    scores = torch.rand(200, generator=generator)
    assert torch.equal(torchvision.ops.nms(boxes, scores, 0.4), compat.nms_reference(boxes, scores, 0.4))
    groups = torch.randint(0, 3, (200,), generator=generator)
    assert len(torchvision.ops.batched_nms(boxes, scores, groups, 0.4)) >= len(torchvision.ops.nms(boxes, scores, 0.4))


def test_step_does_nothing_once_the_op_exists():
    assert hasattr(torch.ops.torchvision, "nms")
    assert compat.ensure_torchvision_ops() is False


def test_facenet_pytorch_and_transformers_import():
    from facenet_pytorch import MTCNN, InceptionResnetV1  # noqa: F401
    from transformers import ConvNextForImageClassification  # noqa: F401
