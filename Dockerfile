# kazarena on a GPU host: the CUDA vLLM image with the app installed (`gpu` extra).
# The app connects to the vLLM servers of compose.yaml through configs/models.gpu.yaml;
# set KAZARENA_MODELS_CONFIG to a config with `path:` entries to let it start them itself.
FROM vllm/vllm-openai:v0.11.0

WORKDIR /opt/kazarena
COPY pyproject.toml README.md ./
COPY app ./app
COPY arena ./arena
COPY db ./db
COPY eval ./eval
COPY train ./train
COPY configs ./configs
COPY data ./data
RUN pip install --no-cache-dir -e ".[gpu,postgres]"

ENV KAZARENA_HOST=0.0.0.0 \
    KAZARENA_PORT=8000 \
    KAZARENA_MODELS_CONFIG=/opt/kazarena/configs/models.gpu.yaml \
    KAZARENA_CACHE_DIR=/var/cache/kazarena \
    HF_HUB_OFFLINE=0
EXPOSE 8000
ENTRYPOINT ["kazarena"]
CMD ["serve", "--no-prepare"]
