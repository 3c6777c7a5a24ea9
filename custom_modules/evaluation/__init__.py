"""Evaluation: the KITTI 2D metric (registered in mmdet's ``METRICS``) and
the pure functions behind it (:mod:`.kitti_eval`)."""
from .kitti_metric import KittiMetric

__all__ = ['KittiMetric']
