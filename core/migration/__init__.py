"""migratelabels: a label set moved onto Sentinel-2 (run.migrate_labels is the entry point; pair.migrate_label
one label's work; options, checks, labels, scenes, rating, cloud_masks, executor, footprints, match_table and
qa_report the rest)."""
