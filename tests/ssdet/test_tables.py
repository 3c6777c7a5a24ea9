"""The toolkit's table helper: Markdown for reports, plain text for the
tools' summaries, numeric columns right-aligned."""
from ssdet.tables import coco_row, markdown_table, text_table


def test_markdown_table():
    rows = [
        dict(backbone='r18-70e-1000p', AP50=40.0, APs=5.0, APl=None),
        dict(backbone='scratch', AP50=3.25, APs=12.0),
    ]
    assert markdown_table(rows, ['backbone', 'AP50', 'APs', 'APl']) == (
        '| backbone      | AP50 |  APs | APl |\n'
        '|---------------|-----:|-----:|-----|\n'
        '| r18-70e-1000p | 40.0 |  5.0 | n/a |\n'
        '| scratch       |  3.2 | 12.0 | n/a |')
    assert '| 40.00 |' in markdown_table(rows, ['AP50'], digits=2)


def test_text_table():
    table = text_table(['split', 'images', 'file'],
                       [['train', 4, 'a/train.json'], ['val', 12, None]])
    assert table == ('split  images  file\n'
                     '---------------------------\n'
                     'train       4  a/train.json\n'
                     'val        12  -')
    assert text_table(None, [['depth', 'ResNet-18'], ['written', 3]]) == (
        'depth    ResNet-18\n'
        'written  3')


def test_coco_row_in_percent():
    row = coco_row({'coco/bbox_mAP': 0.25, 'coco/bbox_mAP_50': 0.5})
    assert row['AP'] == 25.0 and row['AP50'] == 50.0 and row['APl'] is None
