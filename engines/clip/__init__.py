"""The neural ``clip`` profile: CLIP/SigLIP visual encoder, temporal encoder, zero-shot heads.

Entry point: :func:`engines.clip.scorer.build_clip_scorer` (imports torch and transformers).
"""
