"""The original modeling code of LLaDA and Dream (staged into .ref/gpu by scripts/reference-code.sh, put on
sys.path by the caller), built at LLaDA-8B's and Dream-7B's dimensions with random weights in bf16 (or 2-layer
models with `TINY`), for the GPU benchmarks of the Python recorder."""
import torch


def transformers_shims():
    """Dream's modeling code was written for transformers 4.4x; transformers 5 dropped two names it imports. The
    shims give back what 4.4x had (the plain RoPE inverse frequencies, a no-op validation); the modeling and
    decoding code itself is not edited."""
    import transformers.modeling_rope_utils as ru
    import transformers.utils as tu
    if 'default' not in ru.ROPE_INIT_FUNCTIONS:
        def default_rope(config, device=None, seq_len=None, **_):
            dim = getattr(config, 'head_dim', None) or config.hidden_size // config.num_attention_heads
            inv = 1.0 / (config.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float().to(device) / dim))
            return inv, 1.0
        ru.ROPE_INIT_FUNCTIONS['default'] = default_rope
    if not hasattr(ru, 'rope_config_validation'):
        ru.rope_config_validation = lambda *a, **k: None
    for name in ('is_flash_attn_greater_or_equal_2_10', 'is_flash_attn_2_available'):
        if not hasattr(tu, name):
            setattr(tu, name, lambda *a, **k: False)


def build_llada(DEV, TINY=False):
    from dllm_llada.configuration_llada import LLaDAConfig
    from dllm_llada.modeling_llada import LLaDAModel, LLaDAModelLM, create_model_config_from_pretrained_config
    dims = (dict(d_model=64, n_heads=4, n_kv_heads=4, n_layers=2, mlp_hidden_size=128) if TINY else
            dict(d_model=4096, n_heads=32, n_kv_heads=32, n_layers=32, mlp_hidden_size=12288))
    cfg = LLaDAConfig(activation_type='silu', block_type='llama', embedding_size=126464, vocab_size=126464,
                      include_bias=False, include_qkv_bias=False, layer_norm_type='rms', layer_norm_with_affine=True,
                      rms_norm_eps=1e-5, rope=True, rope_full_precision=True, rope_theta=500000.0, weight_tying=False,
                      max_sequence_length=4096, mask_token_id=126336, eos_token_id=126081, pad_token_id=126081,
                      flash_attention=False, init_device=DEV, mlp_ratio=4, **dims)
    cfg.use_cache = False  # transformers 5's PretrainedConfig no longer keeps the use_cache LLaDAConfig passes it
    mc = create_model_config_from_pretrained_config(cfg)
    mc.init_device = DEV
    m = LLaDAModelLM(cfg, model=LLaDAModel(mc, init_params=True))
    return m.to(DEV, torch.bfloat16).eval()


def build_dream(DEV, TINY=False):
    transformers_shims()
    from dllm_dream.configuration_dream import DreamConfig
    from dllm_dream.modeling_dream import DreamModel
    dims = (dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2) if TINY else
            dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                 num_key_value_heads=4))
    cfg = DreamConfig(vocab_size=152064, max_position_embeddings=131072, rms_norm_eps=1e-6, rope_theta=1000000.0,
                      tie_word_embeddings=False, mask_token_id=151666, pad_token_id=151643, bos_token_id=151643,
                      eos_token_id=151643, use_sliding_window=False, attention_dropout=0.0, **dims)
    cfg._attn_implementation = 'sdpa'
    cfg.use_cache = False
    with torch.device(DEV):
        m = DreamModel(cfg)
    return m.to(DEV, torch.bfloat16).eval()


def dream_generation_config():
    """Given explicitly: transformers 5's GenerationConfig.from_model_config (what diffusion_generate calls without
    one) fails on the Dream config's own fields."""
    from dllm_dream.generation_utils import DreamGenerationConfig
    return DreamGenerationConfig(mask_token_id=151666, pad_token_id=151643, bos_token_id=151643, eos_token_id=151643)
