"""The LSTM shadow forecaster (torch): model, features, training and the forecaster class."""

from shadowsim.shadow.forecasters.lstm.config import LSTMConfig
from shadowsim.shadow.forecasters.lstm.forecaster import LSTMForecaster
from shadowsim.shadow.forecasters.lstm.training import TrainConfig, TrainReport

__all__ = ["LSTMConfig", "LSTMForecaster", "TrainConfig", "TrainReport"]
