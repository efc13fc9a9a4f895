"""LLM product copy: specs, prompts, guards, model backends, generation (and, in subpackages, review and fine-tuning)."""
