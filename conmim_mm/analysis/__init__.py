from .attention import cls_attention, render_attention
from .knn import weighted_knn_predict

__all__ = ['cls_attention', 'render_attention', 'weighted_knn_predict']
