"""Python client of the CREPE pitch service (crepe-server).

    from crepe_client import Client
    with Client("127.0.0.1:50051") as c:
        p = c.predict(samples, sample_rate, model="full", decoder="viterbi")

Client (blocking) and AsyncClient (asyncio) call the service; Prediction holds the results as numpy
arrays; CrepeError carries a failed call's gRPC code and reason. `crepe_client.torchcrepe` is
torchcrepe's predict answered by the server; `crepe_client.torchcrepe_capacities` loads the
exported weights of all five capacities into torchcrepe itself.
"""

from .aio import AsyncClient
from .client import Client, ModelStatus, PitchStream
from .errors import CrepeError
from .options import DECODERS, MODELS, RAW, Hysteresis, PostProcessing
from .results import ModelRef, Prediction

__version__ = "0.1.0"
__all__ = ["AsyncClient", "Client", "CrepeError", "DECODERS", "Hysteresis", "MODELS", "ModelRef", "ModelStatus",
           "PitchStream", "PostProcessing", "Prediction", "RAW"]
