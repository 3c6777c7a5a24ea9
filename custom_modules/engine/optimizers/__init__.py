from .trainable_constructor import (TrainableOptimWrapperConstructor,
                                    format_table, merge_param_groups,
                                    param_group_table)

__all__ = [
    'TrainableOptimWrapperConstructor', 'format_table', 'merge_param_groups',
    'param_group_table'
]
