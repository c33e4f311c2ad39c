from .dataset_check_hook import DatasetCheckHook
from .drop_path_schedule_hook import DropPathScheduleHook
from .genotype_export_hook import GenotypeExportHook
from .gumbel_temperature_hook import GumbelTemperatureHook
from .search_health_hook import SearchHealthHook

__all__ = [
    'DatasetCheckHook', 'DropPathScheduleHook', 'GenotypeExportHook', 'GumbelTemperatureHook', 'SearchHealthHook'
]
