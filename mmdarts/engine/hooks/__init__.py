from .drop_path_schedule_hook import DropPathScheduleHook
from .genotype_export_hook import GenotypeExportHook

__all__ = ['DropPathScheduleHook', 'GenotypeExportHook']
