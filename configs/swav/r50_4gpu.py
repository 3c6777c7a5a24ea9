# The report's main SwAV recipe under its documented name: ResNet-50, 200
# epochs, 3000 prototypes, batch 256 over 4 GPUs (64 per GPU), AMP, SyncBN.
#   tools/dist_train.sh configs/swav/r50_4gpu.py 4
_base_ = './swav_resnet50_4xb64-mcrop-2-6-coslr-200e_unlabeled-224-96_3000p.py'
