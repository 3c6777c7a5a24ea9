# Copyright (c) OpenMMLab. All rights reserved.
"""Plain readers and writers of the data formats this project meets.

Tools call these functions and tests import them directly; nothing here is
registered, and nothing is imported at package import time.
"""
