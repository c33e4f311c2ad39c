from .genotype_export_hook import GenotypeExportHook

__all__ = ['GenotypeExportHook']
