"""Real-model RoPE shapes (per GPU, no tensor parallelism), for the asv model benchmarks.

Sizes come from each model's public config.json (num_attention_heads, num_key_value_heads,
head_dim or hidden/heads, partial_rotary_factor or rotary_dim, torch_dtype).
"""

from __future__ import annotations

# name -> Workload fields other than the token counts
MODELS = {
    # GQA 32/8, head 128, full rotary, bf16: Llama 3 8B (also Mistral 7B's shape).
    "llama3-8b": dict(num_heads=32, num_kv_heads=8, head_size=128, rotary_dim=128, style="neox", dtype="bfloat16"),
    # GQA 14/2, head 64, full rotary: Qwen2 0.5B.
    "qwen2-0.5b": dict(num_heads=14, num_kv_heads=2, head_size=64, rotary_dim=64, style="neox", dtype="bfloat16"),
    # GPT-J 6B: 16 heads of 256, rotary 64, interleaved style, fp16.
    "gpt-j-6b": dict(num_heads=16, num_kv_heads=16, head_size=256, rotary_dim=64, style="gptj", dtype="float16"),
    # GPT-NeoX 20B: 64 heads of 96, rotary 24 (partial 0.25), fp16.
    "gpt-neox-20b": dict(num_heads=64, num_kv_heads=64, head_size=96, rotary_dim=24, style="neox", dtype="float16"),
    # Phi-2: 32 heads of 80, rotary 32 (partial 0.4), fp16.
    "phi-2": dict(num_heads=32, num_kv_heads=32, head_size=80, rotary_dim=32, style="neox", dtype="float16"),
    # Llama 3 70B with its fp32 reference dtype: GQA 64/8, full rotary, fp32 q/k.
    "llama3-70b-fp32": dict(num_heads=64, num_kv_heads=8, head_size=128, rotary_dim=128, style="neox",
                            dtype="float32"),
}

# Token shapes: a batch of 64 decoding sequences, and one 4096-token prefill chunk.
PHASES = {
    "decode-64": dict(batch_size=64, seq_len=1),
    "prefill-4096": dict(batch_size=1, seq_len=4096),
}
