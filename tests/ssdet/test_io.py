"""The toolkit's atomic writers: each file appears whole or not at all, no
temporary file is left behind, and ``refuse_overwrite`` guards ``--force``.
"""
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from ssdet import io


def _names(folder):
    return sorted(os.listdir(folder))


def test_text_bytes_and_json(tmp_path):
    io.atomic_write_text(str(tmp_path / 'sub' / 'a.txt'), 'x\ny\n')
    io.atomic_write_bytes(str(tmp_path / 'b.bin'), b'\x00\x01', fsync=False)
    io.atomic_write_json(str(tmp_path / 'c.json'), {'a': [1, 2.5]}, indent=1)
    assert (tmp_path / 'sub' / 'a.txt').read_text() == 'x\ny\n'
    assert (tmp_path / 'b.bin').read_bytes() == b'\x00\x01'
    text = (tmp_path / 'c.json').read_text()
    assert json.loads(text) == {'a': [1, 2.5]} and text.endswith('}\n')
    assert _names(tmp_path) == ['b.bin', 'c.json', 'sub']


def test_failure_keeps_the_old_file(tmp_path):
    path = tmp_path / 'c.json'
    path.write_text('old')
    with pytest.raises(TypeError):
        io.atomic_write_json(str(path), {'a': object()})  # not JSON
    assert path.read_text() == 'old'
    assert _names(tmp_path) == ['c.json']  # the temporary file is gone


def test_torch_save(tmp_path):
    path = str(tmp_path / 'ckpt.pth')
    io.atomic_torch_save({'w': torch.arange(3)}, path)
    assert torch.equal(torch.load(path)['w'], torch.arange(3))
    assert _names(tmp_path) == ['ckpt.pth']


def test_savefig_picks_the_format_from_the_extension(tmp_path):
    import matplotlib
    matplotlib.use('Agg', force=True)
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1])
    try:
        io.atomic_savefig(fig, str(tmp_path / 'f.png'), dpi=20)
        io.atomic_savefig(fig, str(tmp_path / 'f.pdf'))
    finally:
        plt.close(fig)
    assert (tmp_path / 'f.png').read_bytes()[:4] == b'\x89PNG'
    assert (tmp_path / 'f.pdf').read_bytes()[:4] == b'%PDF'
    assert _names(tmp_path) == ['f.pdf', 'f.png']


def test_save_image(tmp_path):
    rgb = np.zeros((6, 8, 3), np.uint8)
    rgb[..., 0] = 255
    io.atomic_save_image(str(tmp_path / 'a.png'), rgb)
    io.atomic_save_image(str(tmp_path / 'b.jpg'), rgb, quality=90)
    with Image.open(tmp_path / 'a.png') as img:
        assert img.format == 'PNG' and img.getpixel((0, 0)) == (255, 0, 0)
    with Image.open(tmp_path / 'b.jpg') as img:
        assert img.format == 'JPEG' and img.size == (8, 6)
    with pytest.raises(ValueError, match='extension'):
        io.atomic_save_image(str(tmp_path / 'c.xyz'), rgb)
    assert _names(tmp_path) == ['a.png', 'b.jpg']


def test_refuse_overwrite(tmp_path):
    a, b = tmp_path / 'a.json', tmp_path / 'b.json'
    io.refuse_overwrite([str(a), str(b)])  # nothing exists yet
    a.write_text('{}')
    with pytest.raises(FileExistsError) as info:
        io.refuse_overwrite([str(a), str(b)])
    assert str(info.value) == (f'{a} already exists; pass --force to '
                               'overwrite')
    io.refuse_overwrite([str(a)], force=True)
