# The InfoMin retraining recipe on 18,000 nuImages images: the list
# data/nuimages/train_18000.txt that nuimages2list.py --subsets writes
# (nested subsets, docs/nuimages.md). The same 100 epochs, so fewer
# iterations than on the full list.
_base_ = './mocov2_resnet50_infomin-init_1xb32-coslr-100e_nuimages.py'

train_dataloader = dict(dataset=dict(ann_file='train_18000.txt'))
