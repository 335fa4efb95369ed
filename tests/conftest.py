import os

# Quiet TensorFlow's C++ start-up chatter in test logs; errors still raise.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
