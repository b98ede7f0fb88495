"""oslo.config's CONF with the defaults of the options cinder's migrations read (cinder/quota.py)."""


class _Config:
    quota_volumes = 10
    quota_snapshots = 10
    quota_gigabytes = 1000
    quota_consistencygroups = 10

    def import_opt(self, name, module_str):
        getattr(self, name)


CONF = _Config()
