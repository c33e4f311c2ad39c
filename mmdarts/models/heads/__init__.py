from .darts_aux_cls_head import AuxiliaryClassifier, DartsAuxClsHead

__all__ = ['AuxiliaryClassifier', 'DartsAuxClsHead']
