# Runtime shared by mmdarts configs (as mmpretrain's default_runtime.py, with mmdarts' scope).
default_scope = 'mmdarts'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
    # Before anything trains: classes of the head and the data agree and each has samples, every image is readable
    # (check_images=False skips reading them, for data sets too large to read twice).
    dataset_check=dict(type='DatasetCheckHook', check_images=True, num_workers=8),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # tools/train.py starts gloo itself where there is no CUDA
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
