"""nova's database API: only the shadow table prefix the migrations use."""
_SHADOW_TABLE_PREFIX = "shadow_"
