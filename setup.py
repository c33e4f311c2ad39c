from setuptools import find_packages, setup


def read_version() -> str:
    scope: dict = {}
    with open('mmdarts/version.py') as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmdarts',
    version=read_version(),
    description='Differentiable Architecture Search (DARTS) for OpenMMLab 2.0',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    python_requires='>=3.8',
    # torch, torchvision and mmcv(-lite) are left out on purpose: a user's CUDA torch and a full mmcv must
    # survive `pip install mmdarts`. tools/setup_env.sh (make setup) installs a stack known to work.
    install_requires=['mmengine>=0.10.0,<0.11', 'mmpretrain>=1.2.0,<1.3', 'setuptools>=77.0.3,<81'],
    extras_require={'tests': ['pytest', 'scikit-learn', 'hypothesis']},
    license='Apache License 2.0',
)
