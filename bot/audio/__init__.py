"""Audio engines and codecs: formats and resampling, Vosk/Whisper/Pico/pyttsx3 adapters, the
recogniser protocol, devices, prosody. Knows no pipeline."""
