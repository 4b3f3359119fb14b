#!/usr/bin/env bash
# Trains the Rasa model only when what it is built from changed: Rasa 3 itself writes a new
# model file on every `rasa train`, even when its cache makes the training a no-op.
# The model is named after a hash of its inputs; the three newest models are kept.
set -euo pipefail
cd "$(dirname "$0")/.."

inputs=(config.yml domain/*.yml data/nlu/*.yml data/rules/*.yml data/speech/slips.yml bot/nlu/spoken_forms.py bot/rasa_server/unknown_words.py bot/text.py requirements.lock)
fingerprint=$(cat "${inputs[@]}" | sha256sum | cut -c1-12)
name="assistant-$fingerprint"
mkdir -p models
if [ -f "models/$name.tar.gz" ]; then
  echo "Model up to date: models/$name.tar.gz"
  touch "models/$name.tar.gz"   # the Rasa server loads the newest model of the folder
  exit 0
fi
echo "Training the model (about a minute)…"
# the NLU data plus its spoken forms (bot/nlu/spoken_forms.py), written under var/build/
read -r -a data <<< "$(PYTHONPATH="$PWD" .venv/bin/python -m bot.nlu.spoken_forms)"
PYTHONPATH="$PWD" PYTHONWARNINGS=ignore .venv/bin/rasa train \
  --domain domain --data "${data[@]}" --config config.yml \
  --out models --fixed-model-name "$name" --quiet 2> >(grep -v -i "warning\|^  " >&2)
ls -t models/*.tar.gz | tail -n +4 | xargs -r rm --
