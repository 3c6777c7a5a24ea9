"""UnlabeledImageDataset and LoadImageFromFileOrSkip on real image files."""
import os
import os.path as osp
from unittest import mock

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import RepeatDataset
from mmengine.registry import init_default_scope
from PIL import Image

from custom_modules.datasets import (LoadImageFromFileOrSkip,
                                     UnlabeledImageDataset, decode_image_bgr,
                                     find_skipping_loaders, scan_images)
from custom_modules.datasets import transforms as transforms_module


def _write_png(path, size=(12, 16), value=0):
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = np.full((*size, 3), value, np.uint8)
    img[0, 0] = (255, 0, 0)  # a blue pixel in BGR
    assert cv2.imwrite(str(path), img)
    return img


def _write_truncated(path, ext='.png'):
    rng = np.random.RandomState(0)
    img = rng.randint(0, 255, (32, 32, 3), np.uint8)
    ok, buf = cv2.imencode(ext, img)
    assert ok
    data = buf.tobytes()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


@pytest.fixture
def image_tree(tmp_path):
    root = tmp_path / 'unlabeled'
    _write_png(str(root / 'b.png'))
    _write_png(str(root / 'a' / 'x.JPG'))
    _write_png(str(root / 'a' / 'deep' / 'y.jpeg'))
    _write_png(str(root / 'c.PNG'))
    (root / 'notes.txt').write_text('not an image')
    _write_png(str(root / '.hidden.png'))
    return root


def test_scan_images_recursive_sorted_any_case(image_tree):
    assert scan_images(
        str(image_tree)) == ['a/deep/y.jpeg', 'a/x.JPG', 'b.png', 'c.PNG']


def test_folder_dataset(image_tree):
    ds = UnlabeledImageDataset(data_root=str(image_tree))
    assert len(ds) == 4
    paths = [ds.get_data_info(i)['img_path'] for i in range(4)]
    assert paths[0] == osp.join(str(image_tree), 'a/deep/y.jpeg')
    assert all(osp.isfile(p) for p in paths)


def test_empty_or_missing_folder_is_an_error(tmp_path):
    (tmp_path / 'empty' / 'sub').mkdir(parents=True)
    (tmp_path / 'empty' / 'sub' / 'readme.txt').write_text('x')
    with pytest.raises(ValueError, match='no image .*empty'):
        UnlabeledImageDataset(data_root=str(tmp_path / 'empty'))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        UnlabeledImageDataset(data_root=str(tmp_path / 'nowhere'))
    with pytest.raises(ValueError, match='needs data_root'):
        UnlabeledImageDataset()


def test_list_file_relative_absolute_comments(image_tree, tmp_path):
    absolute = str(image_tree / 'c.PNG')
    (image_tree / 'list.txt').write_text(
        f'# written by the nuImages extractor\nb.png\n\n  a/x.JPG  \n'
        f'{absolute}\n')
    ds = UnlabeledImageDataset(data_root=str(image_tree), ann_file='list.txt')
    assert [ds.get_data_info(i)['img_path'] for i in range(len(ds))] == [
        osp.join(str(image_tree), 'b.png'),
        osp.join(str(image_tree), 'a/x.JPG'), absolute
    ]


def test_list_with_missing_files_names_lines(image_tree):
    (image_tree / 'list.txt').write_text('b.png\ngone.png\na/x.JPG\nno.jpg\n')
    with pytest.raises(FileNotFoundError) as info:
        UnlabeledImageDataset(data_root=str(image_tree), ann_file='list.txt')
    msg = str(info.value)
    assert '2 of 4 images' in msg
    assert 'list.txt:2:' in msg and 'gone.png' in msg
    assert 'list.txt:4:' in msg and 'no.jpg' in msg
    (image_tree / 'empty.txt').write_text('\n# nothing\n')
    with pytest.raises(ValueError, match='names no image'):
        UnlabeledImageDataset(data_root=str(image_tree), ann_file='empty.txt')
    with pytest.raises(FileNotFoundError, match='image list'):
        UnlabeledImageDataset(data_root=str(image_tree), ann_file='nope.txt')


def test_decode_modes_to_bgr_uint8(tmp_path):
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 255  # red in RGB (exact in the web palette)
    cases = {
        'rgb.png': Image.fromarray(rgb),
        'gray.png': Image.fromarray(np.full((4, 5), 77, np.uint8)),
        'rgba.png':
        Image.fromarray(np.dstack([rgb, np.full((4, 5), 9, np.uint8)])),
        'pal.png': Image.fromarray(rgb).convert('P'),
    }
    for name, img in cases.items():
        img.save(tmp_path / name)
    gray16 = np.full((4, 5), 40000, np.uint16)
    cv2.imwrite(str(tmp_path / 'gray16.png'), gray16)
    out = {
        name: decode_image_bgr((tmp_path / name).read_bytes())
        for name in [*cases, 'gray16.png']
    }
    for name, img in out.items():
        assert img.dtype == np.uint8 and img.shape == (4, 5, 3), name
    assert out['rgb.png'][0, 0].tolist() == [0, 0, 255]
    assert out['rgba.png'][0, 0].tolist() == [0, 0, 255]
    assert out['pal.png'][0, 0].tolist() == [0, 0, 255]
    assert out['gray.png'][0, 0].tolist() == [77, 77, 77]
    assert out['gray16.png'][0, 0].tolist() == [40000 >> 8] * 3


def test_load_or_skip(tmp_path):
    good = _write_png(str(tmp_path / 'good.png'), value=5)
    _write_truncated(str(tmp_path / 'cut.png'), '.png')
    _write_truncated(str(tmp_path / 'cut.jpg'), '.jpg')
    (tmp_path / 'junk.jpg').write_bytes(b'not an image at all')
    load = LoadImageFromFileOrSkip()
    result = load(dict(img_path=str(tmp_path / 'good.png')))
    np.testing.assert_array_equal(result['img'], good)
    assert result['img_shape'] == (12, 16)
    with mock.patch.object(transforms_module, 'print_log') as log:
        for name in ('cut.png', 'cut.jpg', 'junk.jpg', 'vanished.png'):
            assert load(dict(img_path=str(tmp_path / name))) is None
    assert load.num_skipped == 4
    messages = [c.args[0] for c in log.call_args_list]
    assert len(messages) == 4
    for name, msg in zip(('cut.png', 'cut.jpg', 'junk.jpg'), messages):
        assert str(tmp_path / name) in msg and 'unreadable' in msg
    float_load = LoadImageFromFileOrSkip(to_float32=True)
    assert float_load(
        dict(img_path=str(tmp_path / 'good.png')))['img'].dtype == np.float32


def _broken_dataset(tmp_path, num_good=6):
    init_default_scope('mmselfsup')
    root = tmp_path / 'pool'
    for i in range(num_good):
        _write_png(str(root / f'{i:02d}.png'), value=i)
    _write_truncated(str(root / 'zz_broken.jpg'), '.jpg')
    return UnlabeledImageDataset(
        data_root=str(root),
        pipeline=[dict(type='LoadImageFromFileOrSkip')]), root


def test_dataset_refetches_after_a_skip(tmp_path):
    ds, root = _broken_dataset(tmp_path)
    broken = len(ds) - 1
    assert ds.get_data_info(broken)['img_path'].endswith('zz_broken.jpg')
    with mock.patch.object(transforms_module, 'print_log'):
        sample = ds[broken]
    assert not sample['img_path'].endswith('zz_broken.jpg')
    loaders = find_skipping_loaders(RepeatDataset(ds, times=2))
    assert len(loaders) == 1 and loaders[0].num_skipped >= 1


def test_counter_is_shared_with_dataloader_workers(tmp_path):
    ds, _ = _broken_dataset(tmp_path)
    loader = torch.utils.data.DataLoader(
        ds,
        batch_size=2,
        num_workers=2,
        collate_fn=lambda batch: batch,
        multiprocessing_context='fork')
    with mock.patch.object(transforms_module, 'print_log'):
        for _ in range(2):  # two epochs, fresh workers each time
            items = [item for batch in loader for item in batch]
            assert len(items) == len(ds)
    (skipper, ) = find_skipping_loaders(ds)
    # The broken file is visited once an epoch, plus random refetches.
    assert skipper.num_skipped >= 2
