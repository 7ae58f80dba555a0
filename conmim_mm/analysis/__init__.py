from .attention import cls_attention, render_attention
from .features import extract_features
from .knn import weighted_knn_predict

__all__ = [
    'cls_attention', 'extract_features', 'render_attention',
    'weighted_knn_predict'
]
