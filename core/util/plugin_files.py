"""Where the plugin's own files are: one home for the plugin folder and what it ships."""
import os

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUNDLED_CLOUD_MODEL = os.path.join(PLUGIN_DIR, "models", "cloud_s2_4band.onnx")
BUNDLED_CLOUD_MODEL_6BAND = os.path.join(PLUGIN_DIR, "models", "cloud_s2_6band.onnx")  # plus B11, B12
REQUIREMENTS_FILE = os.path.join(PLUGIN_DIR, "requirements-plugin.txt")
METADATA_FILE = os.path.join(PLUGIN_DIR, "metadata.txt")
ICON_FILE = os.path.join(PLUGIN_DIR, "icon.svg")
