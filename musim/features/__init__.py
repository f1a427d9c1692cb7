"""musim's feature store: batch extraction, a registry of feature views, offline and online retrieval.

The concepts of Feast, built small on the DuckDB warehouse and the object store:

- **extraction** (:func:`build`): log-mel tensors (float16 ``.npy`` objects keyed by parameter hash and
  audio sha256), slices and handcrafted descriptors of every stored preview, with a reason row for every
  preview that gives none; idempotent.
- **registry** (:mod:`musim.features.registry`, definitions in :mod:`musim.features.definitions`):
  versioned, typed feature views of artists or tracks, with source, parameter hash and lineage, and
  feature services (the views a model version was trained on).
- **materialisation**: derived views (artist means) and pushed vectors (embeddings) in the warehouse,
  appended with the time they became available.
- **offline** (:func:`get_training_frame`): point-in-time correct training frames.
- **online** (:func:`lookup`, :class:`OnlineStore`): latest vectors by entity id from a published snapshot
  held in memory.
- **local cache** (:func:`cache_log_mels`): many tracks' log-mels as one memory-mappable array.
"""

from musim.features.cache import MelCache, cache_log_mels, load_tensor
from musim.features.extract import build, plan_build
from musim.features.materialize import MaterialiseResult, materialise, write_vectors
from musim.features.offline import get_training_frame
from musim.features.online import OnlineStore, clear_cache, lookup, open_online, publish_online
from musim.features.params import DescriptorParams, Extractor
from musim.features.registry import (
    ARTIST,
    TRACK,
    Entity,
    FeatureService,
    FeatureView,
    Field,
    RegistryError,
    Source,
    apply,
    derived_view,
    embedding_view,
    extraction_view,
    get_service,
    get_view,
    list_services,
    list_views,
    register_service,
    register_view,
)
from musim.features.staged import compute_batch, record_batches
from musim.features.work import BuildOptions, BuildResult

__all__ = [
    "ARTIST",
    "TRACK",
    "BuildOptions",
    "BuildResult",
    "DescriptorParams",
    "Entity",
    "Extractor",
    "FeatureService",
    "FeatureView",
    "Field",
    "MaterialiseResult",
    "MelCache",
    "OnlineStore",
    "RegistryError",
    "Source",
    "apply",
    "build",
    "cache_log_mels",
    "clear_cache",
    "compute_batch",
    "derived_view",
    "embedding_view",
    "extraction_view",
    "get_service",
    "get_training_frame",
    "get_view",
    "list_services",
    "list_views",
    "load_tensor",
    "lookup",
    "materialise",
    "open_online",
    "plan_build",
    "publish_online",
    "record_batches",
    "register_service",
    "register_view",
    "write_vectors",
]
