"""PairedImageDataset / SingleImageDataset on generated folder trees: pairing by name in
every layout, and one clear DatasetLayoutError for each broken layout."""
import os

import numpy as np
import pytest

from restorelab.datasets import DatasetLayoutError, PairedImageDataset, SingleImageDataset
from restorelab.datasets.transforms import LoadImageFromFile
from restorelab.utils.image_io import imwrite_rgb


def write(path, value=0, shape=(6, 8)):
    imwrite_rgb(str(path), np.full((*shape, 3), value, np.uint8))


def pairs_of(ds):
    """{key: (rainy file name, gt file name)} of a dataset."""
    out = {}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        out[info['key']] = (os.path.basename(info['img_path']), os.path.basename(info['gt_path']))
    return out


def test_same_names_with_different_extensions_and_subfolders(tmp_path):
    for name in ['1', '2', '10']:
        write(tmp_path / 'train/input' / f'{name}.png')
        write(tmp_path / 'train/target' / f'{name}.jpg')
    write(tmp_path / 'train/input/sub/7.png')
    write(tmp_path / 'train/target/sub/7.png')
    ds = PairedImageDataset(data_root=str(tmp_path),
                            data_prefix=dict(img='train/input', gt='train/target'))
    assert pairs_of(ds) == {'1': ('1.png', '1.jpg'), '2': ('2.png', '2.jpg'),
                            '10': ('10.png', '10.jpg'), 'sub/7': ('7.png', '7.png')}
    info = ds.get_data_info(0)
    assert info['img_path'] == os.path.join(str(tmp_path), 'train/input', '1.png')
    assert info['gt_path'] == os.path.join(str(tmp_path), 'train/target', '1.jpg')


def test_default_prefix_is_input_target(tmp_path):
    write(tmp_path / 'input/a.png')
    write(tmp_path / 'target/a.png')
    assert pairs_of(PairedImageDataset(data_root=str(tmp_path))) == {'a': ('a.png', 'a.png')}


def test_filename_template_rain100(tmp_path):
    for i in [1, 2, 10]:
        write(tmp_path / 'rain' / f'rain-{i:03d}.png')
        write(tmp_path / 'norain' / f'norain-{i:03d}.png')
    ds = PairedImageDataset(data_root=str(tmp_path), data_prefix=dict(img='rain', gt='norain'),
                            filename_tmpl=dict(img='rain-{}', gt='norain-{}'))
    assert pairs_of(ds) == {f'rain-{i:03d}': (f'rain-{i:03d}.png', f'norain-{i:03d}.png')
                            for i in [1, 2, 10]}


def test_pairing_is_by_name_where_sorted_positions_disagree(tmp_path):
    # sorted rainy: a0_r, a_r ('0' < '_'); sorted gt: a, a0 ('.' < '0'): position would cross them
    for core, value in [('a', 10), ('a0', 200)]:
        write(tmp_path / 'in' / f'{core}_r.png', value)
        write(tmp_path / 'gt' / f'{core}.png', value)
    assert sorted(os.listdir(tmp_path / 'in')) == ['a0_r.png', 'a_r.png']
    assert sorted(os.listdir(tmp_path / 'gt')) == ['a.png', 'a0.png']
    ds = PairedImageDataset(data_root=str(tmp_path), data_prefix=dict(img='in', gt='gt'),
                            filename_tmpl=dict(img='{}_r', gt='{}'))
    assert pairs_of(ds) == {'a0_r': ('a0_r.png', 'a0.png'), 'a_r': ('a_r.png', 'a.png')}
    load_img, load_gt = LoadImageFromFile('img'), LoadImageFromFile('gt')
    for i in range(len(ds)):
        res = load_gt(load_img(dict(ds.get_data_info(i))))
        assert res['img'][0, 0, 0] == res['gt'][0, 0, 0]


def test_both_sides_in_one_folder_prenet_style(tmp_path):
    for i in [1, 2]:
        write(tmp_path / 'RainTrainH' / f'rain-{i}.png')
        write(tmp_path / 'RainTrainH' / f'norain-{i}.png')
    ds = PairedImageDataset(data_root=str(tmp_path),
                            data_prefix=dict(img='RainTrainH', gt='RainTrainH'),
                            filename_tmpl=dict(img='rain-{}', gt='norain-{}'))
    assert pairs_of(ds) == {'rain-1': ('rain-1.png', 'norain-1.png'),
                            'rain-2': ('rain-2.png', 'norain-2.png')}


def test_many_rainy_images_per_ground_truth_ddn(tmp_path):
    names = ['901_1', '901_2', '901_14', '902_1', '1000_3']
    for n in names:
        write(tmp_path / 'rainy_image' / f'{n}.jpg')
    for n in ['901', '902', '1000']:
        write(tmp_path / 'ground_truth' / f'{n}.jpg')
    ds = PairedImageDataset(data_root=str(tmp_path),
                            data_prefix=dict(img='rainy_image', gt='ground_truth'),
                            filename_tmpl=dict(img='{}_*', gt='{}'))
    assert pairs_of(ds) == {n: (f'{n}.jpg', n.split('_')[0] + '.jpg') for n in names}


def test_annotation_file_spa_style(tmp_path):
    for name in ['000-0_1', '000-0_2']:
        write(tmp_path / 'real_world/000/000-0' / f'{name}.png')
        write(tmp_path / 'real_world_gt/000/000-0' / f'{name}gt.png')
    (tmp_path / 'list.txt').write_text(
        '# rain gt\n'
        '/real_world/000/000-0/000-0_1.png /real_world_gt/000/000-0/000-0_1gt.png\n'
        '\n'
        './real_world/000/000-0/000-0_2.png\treal_world_gt/000/000-0/000-0_2gt.png\n')
    ds = PairedImageDataset(data_root=str(tmp_path), ann_file='list.txt')
    assert pairs_of(ds) == {
        'real_world/000/000-0/000-0_1': ('000-0_1.png', '000-0_1gt.png'),
        'real_world/000/000-0/000-0_2': ('000-0_2.png', '000-0_2gt.png')}
    assert os.path.isfile(ds.get_data_info(0)['gt_path'])


def test_side_by_side_did_style_cuts_the_halves(tmp_path):
    img = np.zeros((4, 10, 3), np.uint8)
    img[:, :5] = 30   # rain
    img[:, 5:] = 220  # clean
    imwrite_rgb(str(tmp_path / 'train/Rain_Heavy/train2018new/0.png'), img)
    imwrite_rgb(str(tmp_path / 'train/Rain_Light/train2018new/0.png'), img[:, ::-1].copy())
    ds = PairedImageDataset(data_root=str(tmp_path), data_prefix=dict(img='train'),
                            side_by_side='rain_left')
    assert [ds.get_data_info(i)['key'] for i in range(2)] == [
        'Rain_Heavy/train2018new/0', 'Rain_Light/train2018new/0']
    res = LoadImageFromFile('gt')(LoadImageFromFile('img')(dict(ds.get_data_info(0))))
    assert res['img'].shape == res['gt'].shape == (4, 5, 3)
    assert (res['img'] == 30).all() and (res['gt'] == 220).all()
    assert res['ori_shape'] == (4, 5)
    res = LoadImageFromFile('img')(dict(ds.get_data_info(0), side_by_side='rain_right'))
    assert (res['img'] == 220).all()


def test_side_by_side_odd_width_names_the_file(tmp_path):
    write(tmp_path / 'x/0.png', shape=(4, 9))
    ds = PairedImageDataset(data_root=str(tmp_path), data_prefix=dict(img='x'),
                            side_by_side='rain_left')
    with pytest.raises(ValueError, match=r"0\.png.*9 pixels wide"):
        LoadImageFromFile('img')(dict(ds.get_data_info(0)))


# ----------------------------------------------------------------------------- errors
def test_missing_folder(tmp_path):
    write(tmp_path / 'train/target/1.png')
    with pytest.raises(DatasetLayoutError) as err:
        PairedImageDataset(data_root=str(tmp_path),
                           data_prefix=dict(img='train/input', gt='train/target'))
    msg = str(err.value)
    assert isinstance(err.value, ValueError)
    assert os.path.join(str(tmp_path), 'train/input') in msg
    assert 'does not exist' in msg and 'Expected layout' in msg and 'Found 0 images' in msg
    assert 'same file names' in msg


def test_missing_gt_folder(tmp_path):
    write(tmp_path / 'input/1.png')
    with pytest.raises(DatasetLayoutError, match=r"ground-truth folder .*target' does not exist"):
        PairedImageDataset(data_root=str(tmp_path))


def test_empty_folder_counts_other_files(tmp_path):
    write(tmp_path / 'target/1.png')
    (tmp_path / 'input').mkdir()
    (tmp_path / 'input/readme.txt').write_text('x')
    (tmp_path / 'input/.hidden.png').write_bytes(b'')
    with pytest.raises(DatasetLayoutError) as err:
        PairedImageDataset(data_root=str(tmp_path))
    msg = str(err.value)
    assert 'contains no image files' in msg and 'found 0 images and 1 other files' in msg
    assert os.path.join(str(tmp_path), 'input') in msg


def test_unmatched_rainy_image(tmp_path):
    for name in ['1', '2', '3']:
        write(tmp_path / 'input' / f'{name}.png')
    for name in ['1', '2']:
        write(tmp_path / 'target' / f'{name}.png')
    with pytest.raises(DatasetLayoutError) as err:
        PairedImageDataset(data_root=str(tmp_path))
    msg = str(err.value)
    assert '1 of 3 rainy images' in msg
    assert 'found 3 rainy and 2 ground-truth images' in msg
    assert "'3.png (no 3.*)'" in msg


def test_unmatched_list_is_capped(tmp_path):
    write(tmp_path / 'target/gt.png')
    write(tmp_path / 'input/gt.png')
    for i in range(8):
        write(tmp_path / 'input' / f'x{i}.png')
    with pytest.raises(DatasetLayoutError) as err:
        PairedImageDataset(data_root=str(tmp_path))
    msg = str(err.value)
    assert '8 of 9 rainy images' in msg and '(and 3 more)' in msg
    assert 'x0.png' in msg and 'x7.png' not in msg


def test_count_mismatch_extra_ground_truth(tmp_path):
    for name in ['1', '2']:
        write(tmp_path / 'input' / f'{name}.png')
    for name in ['1', '2', '3']:
        write(tmp_path / 'target' / f'{name}.png')
    with pytest.raises(DatasetLayoutError) as err:
        PairedImageDataset(data_root=str(tmp_path))
    msg = str(err.value)
    assert '1 of 3 ground-truth images' in msg and 'found 2 rainy and 3 ground-truth' in msg
    assert "'3.png'" in msg and 'allow_unused_gt=True' in msg
    ds = PairedImageDataset(data_root=str(tmp_path), allow_unused_gt=True)
    assert len(ds) == 2


def test_name_not_fitting_the_template(tmp_path):
    write(tmp_path / 'rain/rain-1.png')
    write(tmp_path / 'rain/img-2.png')
    write(tmp_path / 'norain/norain-1.png')
    with pytest.raises(DatasetLayoutError, match=r"img-2\.png \(name does not fit 'rain-\{\}'\)"):
        PairedImageDataset(data_root=str(tmp_path), data_prefix=dict(img='rain', gt='norain'),
                           filename_tmpl=dict(img='rain-{}', gt='norain-{}'))


def test_many_to_one_missing_ground_truth(tmp_path):
    write(tmp_path / 'r/901_1.jpg')
    write(tmp_path / 'r/902_1.jpg')
    write(tmp_path / 'g/901.jpg')
    with pytest.raises(DatasetLayoutError, match=r"'902_1\.jpg \(no 902\.\*\)'"):
        PairedImageDataset(data_root=str(tmp_path), data_prefix=dict(img='r', gt='g'),
                           filename_tmpl=dict(img='{}_*', gt='{}'))


def test_two_files_with_one_stem_are_ambiguous(tmp_path):
    write(tmp_path / 'input/1.png')
    write(tmp_path / 'target/1.png')
    write(tmp_path / 'target/1.jpg')
    with pytest.raises(DatasetLayoutError, match=r"ambiguous: '1\.jpg / 1\.png'"):
        PairedImageDataset(data_root=str(tmp_path))


def test_annotation_file_errors(tmp_path):
    with pytest.raises(DatasetLayoutError, match=r"annotation file .*nope\.txt' does not exist"):
        PairedImageDataset(data_root=str(tmp_path), ann_file='nope.txt')
    (tmp_path / 'empty.txt').write_text('# nothing\n\n')
    with pytest.raises(DatasetLayoutError, match='lists no pairs'):
        PairedImageDataset(data_root=str(tmp_path), ann_file='empty.txt')
    write(tmp_path / 'a.png')
    write(tmp_path / 'b.png')
    (tmp_path / 'bad.txt').write_text('a.png b.png\na.png\n')
    with pytest.raises(DatasetLayoutError, match=r"1 lines .*line 2: 'a\.png'"):
        PairedImageDataset(data_root=str(tmp_path), ann_file='bad.txt')
    (tmp_path / 'missing.txt').write_text('a.png b.png\nc.png b.png\na.png d.png\n')
    with pytest.raises(DatasetLayoutError) as err:
        PairedImageDataset(data_root=str(tmp_path), ann_file='missing.txt')
    msg = str(err.value)
    assert '2 of 3 pairs' in msg and '(1 rainy, 1 ground truth missing)' in msg
    assert 'line 2: rain ' in msg and 'c.png' in msg and 'line 3: gt ' in msg
    (tmp_path / 'dup.txt').write_text('a.png b.png\n./a.png b.png\n')
    with pytest.raises(DatasetLayoutError, match=r'twice \(lines 1 and 2\)'):
        PairedImageDataset(data_root=str(tmp_path), ann_file='dup.txt')


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"only allowed on the rainy side"):
        PairedImageDataset(filename_tmpl=dict(img='{}', gt='{}_*'), lazy_init=True)
    with pytest.raises(ValueError, match=r"exactly one '\{\}'"):
        PairedImageDataset(filename_tmpl=dict(img='rain'), lazy_init=True)
    with pytest.raises(ValueError, match='side_by_side must be one of'):
        PairedImageDataset(side_by_side='left', lazy_init=True)
    with pytest.raises(ValueError, match='data_prefix keys must be img and gt'):
        PairedImageDataset(data_prefix=dict(img='a', lq='b'), lazy_init=True)


def test_same_folder_without_templates_is_refused(tmp_path):
    write(tmp_path / 'x/1.png')
    with pytest.raises(ValueError, match='distinct templates'):
        PairedImageDataset(data_root=str(tmp_path), data_prefix=dict(img='x', gt='x'))


# ----------------------------------------------------------------------------- single
def test_single_image_dataset(tmp_path):
    write(tmp_path / 'real/b.jpg')
    write(tmp_path / 'real/a.png')
    write(tmp_path / 'real/sub/c.bmp')
    ds = SingleImageDataset(data_root=str(tmp_path), data_prefix=dict(img='real'))
    assert [ds.get_data_info(i)['key'] for i in range(3)] == ['a', 'b', 'sub/c']
    assert 'gt_path' not in ds.get_data_info(0)


def test_single_image_dataset_errors(tmp_path):
    with pytest.raises(DatasetLayoutError, match=r"image folder .*real' does not exist"):
        SingleImageDataset(data_root=str(tmp_path), data_prefix=dict(img='real'))
    (tmp_path / 'real').mkdir()
    with pytest.raises(DatasetLayoutError, match='contains no image files'):
        SingleImageDataset(data_root=str(tmp_path), data_prefix=dict(img='real'))
    write(tmp_path / 'real/a.png')
    write(tmp_path / 'real/a.jpg')
    with pytest.raises(DatasetLayoutError, match='ambiguous'):
        SingleImageDataset(data_root=str(tmp_path), data_prefix=dict(img='real'))


def test_dataset_runs_its_pipeline_and_serializes(tmp_path):
    rain = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    imwrite_rgb(str(tmp_path / 'input/1.png'), rain)
    imwrite_rgb(str(tmp_path / 'target/1.png'), 255 - rain)
    ds = PairedImageDataset(
        data_root=str(tmp_path), serialize_data=True,
        pipeline=[dict(type='LoadImageFromFile', key='img'),
                  dict(type='LoadImageFromFile', key='gt'), dict(type='PackInputs')])
    out = ds[0]
    assert out['inputs'].shape == (3, 6, 8)
    sample = out['data_samples']
    assert sample.key == '1' and sample.ori_shape == (6, 8) and sample.bit_depth == 8
    np.testing.assert_array_equal(
        (sample.gt_img * 255).round().numpy().transpose(1, 2, 0), 255 - rain)
