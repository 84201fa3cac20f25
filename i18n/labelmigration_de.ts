<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1">
<context>
    <name>LabelMigration</name>
    <message>
        <location filename="../core/search/__init__.py" line="44"/>
        <source>CDSE OData</source>
        <translation>CDSE OData</translation>
    </message>
    <message>
        <location filename="../core/search/__init__.py" line="44"/>
        <source>STAC API</source>
        <translation>STAC-API</translation>
    </message>
    <message>
        <location filename="../core/search/__init__.py" line="44"/>
        <source>DHuS (sentinelsat-style hub)</source>
        <translation>DHuS (Hub im Stil von sentinelsat)</translation>
    </message>
    <message>
        <location filename="../core/search/__init__.py" line="44"/>
        <source>Local archive</source>
        <translation>Lokales Archiv</translation>
    </message>
    <message>
        <location filename="../processing/algorithm.py" line="187"/>
        <source>No raster was given for {}.</source>
        <translation>Für {} wurde kein Raster angegeben.</translation>
    </message>
    <message>
        <location filename="../processing/algorithm.py" line="305"/>
        <source>The layer &apos;{}&apos; is served by the &apos;{}&apos; provider; only file-based rasters (GDAL) can be used here.</source>
        <translation>Der Layer '{}' kommt vom Anbieter '{}'; hier sind nur dateibasierte Raster (GDAL) möglich.</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="25"/>
        <source>ONNX models (*.onnx);;All files (*.*)</source>
        <translation>ONNX-Modelle (*.onnx);;Alle Dateien (*.*)</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="30"/>
        <source>Label Migration cloud model, 4 bands (bundled)</source>
        <translation>Label-Migration-Wolkenmodell, 4 Bänder (mitgeliefert)</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="30"/>
        <source>ukis-csmask 4 bands L1C</source>
        <translation>ukis-csmask 4 Bänder L1C</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="30"/>
        <source>ukis-csmask 4 bands L2A</source>
        <translation>ukis-csmask 4 Bänder L2A</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="30"/>
        <source>ukis-csmask 6 bands L1C</source>
        <translation>ukis-csmask 6 Bänder L1C</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="30"/>
        <source>ukis-csmask 6 bands L2A</source>
        <translation>ukis-csmask 6 Bänder L2A</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="134"/>
        <source>Cloud mask</source>
        <translation>Wolkenmaske</translation>
    </message>
    <message>
        <location filename="../processing/train_segmentation.py" line="14"/>
        <source>Models</source>
        <translation>Modelle</translation>
    </message>
    <message>
        <location filename="../processing/segment.py" line="61"/>
        <source>Image</source>
        <translation>Bild</translation>
    </message>
    <message>
        <location filename="../processing/train_segmentation.py" line="65"/>
        <source>Model</source>
        <translation>Modell</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="120"/>
        <source>Built-in model (when no model file is given)</source>
        <translation>Eingebautes Modell (wenn keine Modelldatei angegeben ist)</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="116"/>
        <source>Bands</source>
        <translation>Bänder</translation>
    </message>
    <message>
        <location filename="../processing/segment.py" line="66"/>
        <source>Threshold</source>
        <translation>Schwellenwert</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="127"/>
        <source>Tile size</source>
        <translation>Kachelgröße</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="130"/>
        <source>Overlap</source>
        <translation>Überlappung</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="135"/>
        <source>Cloud probability</source>
        <translation>Wolkenwahrscheinlichkeit</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="137"/>
        <source>Cloud polygons</source>
        <translation>Wolkenpolygone</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="140"/>
        <source>Minimum area</source>
        <translation>Mindestfläche</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="142"/>
        <source>Cloud cover of the valid pixels (%)</source>
        <translation>Wolkenbedeckung der gültigen Pixel (%)</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="185"/>
        <source>Cloud cover: {:.2f}% of {} valid pixels ({} tiles of {} px)</source>
        <translation>Wolkenbedeckung: {:.2f}% von {} gültigen Pixeln ({} Kacheln zu {} px)</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="219"/>
        <source>The bundled cloud model &apos;{}&apos; is not installed with this copy of the plugin. Give an ONNX file in MODEL or choose a ukis-csmask model in BUILTIN_MODEL.</source>
        <translation>Das mitgelieferte Wolkenmodell '{}' ist mit dieser Kopie des Plugins nicht installiert. Geben Sie eine ONNX-Datei in MODEL an oder wählen Sie ein ukis-csmask-Modell in BUILTIN_MODEL.</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="246"/>
        <source>{} cloud polygons</source>
        <translation>{} Wolkenpolygone</translation>
    </message>
    <message>
        <location filename="../processing/crop_scene.py" line="26"/>
        <source>Crop scene to label</source>
        <translation>Szene auf Label zuschneiden</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="45"/>
        <source>Labels</source>
        <translation>Labels</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="29"/>
        <source>Scene</source>
        <translation>Szene</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_requests.py" line="19"/>
        <source>Label</source>
        <translation>Label</translation>
    </message>
    <message>
        <location filename="../processing/stack_bands.py" line="36"/>
        <source>Band names</source>
        <translation>Bandnamen</translation>
    </message>
    <message>
        <location filename="../processing/crop_scene.py" line="94"/>
        <source>Other tiles</source>
        <translation>Weitere Kacheln</translation>
    </message>
    <message>
        <location filename="../processing/crop_scene.py" line="96"/>
        <source>Label resampling</source>
        <translation>Resampling des Labels</translation>
    </message>
    <message>
        <location filename="../processing/crop_scene.py" line="96"/>
        <source>Nearest neighbour</source>
        <translation>Nächster Nachbar</translation>
    </message>
    <message>
        <location filename="../processing/crop_scene.py" line="96"/>
        <source>Mode (majority)</source>
        <translation>Modus (Mehrheit)</translation>
    </message>
    <message>
        <location filename="../processing/crop_scene.py" line="102"/>
        <source>Label on image grid</source>
        <translation>Label im Bildraster</translation>
    </message>
    <message>
        <location filename="../processing/crop_scene.py" line="103"/>
        <source>Label footprint covered by the scene (%)</source>
        <translation>Von der Szene abgedeckter Label-Umriss (%)</translation>
    </message>
    <message>
        <location filename="../processing/crop_scene.py" line="104"/>
        <source>Label pixels without image data (%)</source>
        <translation>Label-Pixel ohne Bilddaten (%)</translation>
    </message>
    <message>
        <location filename="../processing/algorithm.py" line="93"/>
        <source>Incorrect parameter value for {}</source>
        <translation>Ungültiger Parameterwert für {}</translation>
    </message>
    <message>
        <location filename="../processing/crop_scene.py" line="159"/>
        <source>Pair of {} x {} pixels; label covered {:.1f}%, label pixels without image data {:.2f}%</source>
        <translation>Paar aus {} x {} Pixeln; Label zu {:.1f}% abgedeckt, Label-Pixel ohne Bilddaten {:.2f}%</translation>
    </message>
    <message>
        <location filename="../processing/download_scenes.py" line="18"/>
        <source>Download scenes</source>
        <translation>Szenen herunterladen</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="236"/>
        <source>Scenes</source>
        <translation>Szenen</translation>
    </message>
    <message>
        <location filename="../processing/download_scenes.py" line="55"/>
        <source>Folder</source>
        <translation>Ordner</translation>
    </message>
    <message>
        <location filename="../processing/download_scenes.py" line="56"/>
        <source>Assets</source>
        <translation>Assets</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="127"/>
        <source>Authentication</source>
        <translation>Authentifizierung</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="155"/>
        <source>Token URL</source>
        <translation>Token-URL</translation>
    </message>
    <message>
        <location filename="../processing/download_scenes.py" line="60"/>
        <source>Downloaded files</source>
        <translation>Heruntergeladene Dateien</translation>
    </message>
    <message>
        <location filename="../processing/download_scenes.py" line="61"/>
        <source>Offline products</source>
        <translation>Offline-Produkte</translation>
    </message>
    <message>
        <location filename="../processing/download_scenes.py" line="62"/>
        <source>Number of files</source>
        <translation>Anzahl der Dateien</translation>
    </message>
    <message>
        <location filename="../processing/download_scenes.py" line="75"/>
        <source>The scene layer has no scenes to download.</source>
        <translation>Der Szenen-Layer enthält keine Szenen zum Herunterladen.</translation>
    </message>
    <message>
        <location filename="../processing/download_scenes.py" line="76"/>
        <source>{} files to download into {}</source>
        <translation>{} Dateien werden nach {} heruntergeladen</translation>
    </message>
    <message>
        <location filename="../processing/download_scenes.py" line="81"/>
        <source>{:.1f} of {:.1f} MB, {:.1f} MB/s</source>
        <translation>{:.1f} von {:.1f} MB, {:.1f} MB/s</translation>
    </message>
    <message>
        <location filename="../processing/download_scenes.py" line="89"/>
        <source>Offline (in the long-term archive; order it, then download again): {}</source>
        <translation>Offline (im Langzeitarchiv; bestellen, dann erneut herunterladen): {}</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_segmentation.py" line="11"/>
        <source>Accuracy</source>
        <translation>Genauigkeit</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_segmentation.py" line="11"/>
        <source>Precision</source>
        <translation>Präzision</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_segmentation.py" line="11"/>
        <source>Recall</source>
        <translation>Sensitivität</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_segmentation.py" line="12"/>
        <source>IoU</source>
        <translation>IoU</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_segmentation.py" line="12"/>
        <source>F1</source>
        <translation>F1</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_segmentation.py" line="17"/>
        <source>Evaluate segmentation</source>
        <translation>Segmentierung bewerten</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_segmentation.py" line="37"/>
        <source>Prediction</source>
        <translation>Vorhersage</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_segmentation.py" line="38"/>
        <source>Ground truth</source>
        <translation>Referenzdaten</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_segmentation.py" line="39"/>
        <source>Positive class</source>
        <translation>Positive Klasse</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_segmentation.py" line="73"/>
        <source>Confusion matrix</source>
        <translation>Konfusionsmatrix</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="107"/>
        <source>CSV files (*.csv)</source>
        <translation>CSV-Dateien (*.csv)</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_segmentation.py" line="45"/>
        <source>Metrics per class</source>
        <translation>Kennzahlen je Klasse</translation>
    </message>
    <message>
        <location filename="../processing/geocode_mask.py" line="10"/>
        <source>Label images (*.png *.PNG *.jpg *.jpeg *.JPG *.tif *.tiff *.TIF *.bmp);;All files (*.*)</source>
        <translation>Label-Bilder (*.png *.PNG *.jpg *.jpeg *.JPG *.tif *.tiff *.TIF *.bmp);;Alle Dateien (*.*)</translation>
    </message>
    <message>
        <location filename="../processing/geocode_mask.py" line="16"/>
        <source>Geocode label mask</source>
        <translation>Label-Maske georeferenzieren</translation>
    </message>
    <message>
        <location filename="../processing/geocode_mask.py" line="18"/>
        <source>Gives a label image that has no georeferencing (PNG, JPEG or a plain single-band TIFF, as exported from labelling tools) the coordinate system, geotransform and size of the raster it was drawn on.&lt;br&gt;&lt;br&gt;&lt;b&gt;Label image&lt;/b&gt; (INPUT): one band of class values, or RGB with one colour per class. Grey colours such as #010101 and #050505 become classes 1 and 5; other colours become classes 1, 2, ... in colour order (black is background 0), with a colour table. An alpha channel marks unlabelled pixels.&lt;br&gt;&lt;b&gt;Reference raster&lt;/b&gt; (REFERENCE): the georeferenced image the label was drawn on.&lt;br&gt;&lt;b&gt;Add validity band&lt;/b&gt; (VALIDITY_BAND): band 2 of the output is 1 where the reference has data and 0 where it is nodata.&lt;br&gt;&lt;b&gt;Resize label to the reference&lt;/b&gt; (RESIZE): if the label has another size, resize it with nearest neighbour instead of stopping with an error.&lt;br&gt;&lt;b&gt;Georeferenced label&lt;/b&gt; (OUTPUT): GeoTIFF, band 1 the class values (uint8).&lt;br&gt;&lt;br&gt;Example: &lt;code&gt;qgis_process run labelmigration:geocodemask -- INPUT=mask.png REFERENCE=20200812_101512_3B_Visual.tif OUTPUT=mask.tif&lt;/code&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../processing/geocode_mask.py" line="39"/>
        <source>Label image</source>
        <translation>Label-Bild</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="49"/>
        <source>Reference raster</source>
        <translation>Referenzraster</translation>
    </message>
    <message>
        <location filename="../processing/geocode_mask.py" line="42"/>
        <source>Add validity band</source>
        <translation>Gültigkeitsband hinzufügen</translation>
    </message>
    <message>
        <location filename="../processing/geocode_mask.py" line="43"/>
        <source>Resize label to the reference</source>
        <translation>Label auf die Größe der Referenz bringen</translation>
    </message>
    <message>
        <location filename="../processing/geocode_mask.py" line="44"/>
        <source>Georeferenced label</source>
        <translation>Georeferenziertes Label</translation>
    </message>
    <message>
        <location filename="../processing/geocode_mask.py" line="45"/>
        <source>Number of colour classes</source>
        <translation>Anzahl der Farbklassen</translation>
    </message>
    <message>
        <location filename="../processing/geocode_mask.py" line="58"/>
        <source>Class {}: colour {}</source>
        <translation>Klasse {}: Farbe {}</translation>
    </message>
    <message>
        <location filename="../qgis_common/results_group.py" line="107"/>
        <source>Label footprints</source>
        <translation>Label-Umrisse</translation>
    </message>
    <message>
        <location filename="../processing/mask_footprint.py" line="17"/>
        <source>Draws the outline of each label&apos;s valid data (not just its bounding box: a rotated or partly nodata label gives its real outline) as one polygon per label.&lt;br&gt;&lt;br&gt;&lt;b&gt;Labels&lt;/b&gt; (INPUT): one or more georeferenced label rasters, e.g. outputs of &lt;i&gt;Geocode label mask&lt;/i&gt;. A band named &apos;validity&apos; marks valid pixels; otherwise the raster&apos;s nodata, mask or alpha band does.&lt;br&gt;&lt;b&gt;Target CRS&lt;/b&gt; (TARGET_CRS): coordinate system of the footprints (default EPSG:4326).&lt;br&gt;&lt;b&gt;Footprints&lt;/b&gt; (OUTPUT): polygons with the fields &lt;i&gt;label&lt;/i&gt; (file name), &lt;i&gt;area_m2&lt;/i&gt; (true area in square metres) and &lt;i&gt;date&lt;/i&gt; (from a date such as 20200812 or 2020-08-12 in the file name, or the raster&apos;s date metadata; empty when unknown).&lt;br&gt;&lt;br&gt;Example: &lt;code&gt;qgis_process run labelmigration:maskfootprint -- INPUT=mask_20200812.tif OUTPUT=footprints.gpkg&lt;/code&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../processing/mask_footprint.py" line="37"/>
        <source>Target CRS</source>
        <translation>Ziel-KBS</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="67"/>
        <source>Footprints</source>
        <translation>Umrisse</translation>
    </message>
    <message>
        <location filename="../processing/mask_footprint.py" line="44"/>
        <source>No label rasters were given.</source>
        <translation>Es wurden keine Label-Raster angegeben.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="47"/>
        <source>Migrate labels</source>
        <translation>Labels migrieren</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="97"/>
        <source>Label folder</source>
        <translation>Label-Ordner</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="147"/>
        <source>Label files</source>
        <translation>Label-Dateien</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="149"/>
        <source>Date pattern</source>
        <translation>Datumsmuster</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="150"/>
        <source>Dates CSV</source>
        <translation>Datums-CSV</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="79"/>
        <source>Date</source>
        <translation>Datum</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_requests.py" line="22"/>
        <source>Backend</source>
        <translation>Backend</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="123"/>
        <source>URL</source>
        <translation>URL</translation>
    </message>
    <message>
        <location filename="../processing/search_parameters.py" line="53"/>
        <source>Collection</source>
        <translation>Kollektion</translation>
    </message>
    <message>
        <location filename="../processing/search_parameters.py" line="33"/>
        <source>Days before</source>
        <translation>Tage davor</translation>
    </message>
    <message>
        <location filename="../processing/search_parameters.py" line="33"/>
        <source>Days after</source>
        <translation>Tage danach</translation>
    </message>
    <message>
        <location filename="../processing/search_parameters.py" line="38"/>
        <source>Maximum cloud cover (%)</source>
        <translation>Maximale Wolkenbedeckung (%)</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="109"/>
        <source>Product</source>
        <translation>Produkt</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="125"/>
        <source>Cloud model</source>
        <translation>Wolkenmodell</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="117"/>
        <source>Write a cloud mask per pair</source>
        <translation>Eine Wolkenmaske je Paar schreiben</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="169"/>
        <source>Executor (Dask scheduler address)</source>
        <translation>Executor (Adresse des Dask-Schedulers)</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="171"/>
        <source>Workers (0 = one per core)</source>
        <translation>Worker (0 = einer je Kern)</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="128"/>
        <source>Output folder</source>
        <translation>Ausgabeordner</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="178"/>
        <source>Label-scene matches (CSV)</source>
        <translation>Label-Szenen-Zuordnungen (CSV)</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="181"/>
        <source>QA report</source>
        <translation>QA-Bericht</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="182"/>
        <source>Complete pairs</source>
        <translation>Vollständige Paare</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="183"/>
        <source>Failed labels</source>
        <translation>Fehlgeschlagene Labels</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="190"/>
        <source>Give either a label folder (LABELS) or label files (LABEL_FILES), not both.</source>
        <translation>Geben Sie entweder einen Label-Ordner (LABELS) oder Label-Dateien (LABEL_FILES) an, nicht beides.</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="193"/>
        <source>No labels: give a label folder (LABELS) or label files (LABEL_FILES).</source>
        <translation>Keine Labels: Geben Sie einen Label-Ordner (LABELS) oder Label-Dateien (LABEL_FILES) an.</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="218"/>
        <source>{} labels: {} migrated, {} already done, {} failed, {} without a scene</source>
        <translation>{} Labels: {} migriert, {} bereits erledigt, {} fehlgeschlagen, {} ohne Szene</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="227"/>
        <source>Cloud masks (masks/&lt;label&gt;.tif) made from {}.</source>
        <translation>Wolkenmasken (masks/&lt;label&gt;.tif) erstellt aus {}.</translation>
    </message>
    <message>
        <location filename="../qgis_common/results_group.py" line="120"/>
        <source>Chosen scenes</source>
        <translation>Gewählte Szenen</translation>
    </message>
    <message>
        <location filename="../qgis_common/results_group.py" line="127"/>
        <source>Pairs ({})</source>
        <translation>Paare ({})</translation>
    </message>
    <message>
        <location filename="../qgis_common/results_group.py" line="130"/>
        <source>label</source>
        <translation>Label</translation>
    </message>
    <message>
        <location filename="../qgis_common/results_group.py" line="130"/>
        <source>cloud mask</source>
        <translation>Wolkenmaske</translation>
    </message>
    <message>
        <location filename="../qgis_common/results_group.py" line="130"/>
        <source>image</source>
        <translation>Bild</translation>
    </message>
    <message>
        <location filename="../qgis_common/results_group.py" line="145"/>
        <source>{} pairs: the first {} are loaded; all are in {} (matches.csv).</source>
        <translation>{} Paare: die ersten {} sind geladen; alle liegen in {} (matches.csv).</translation>
    </message>
    <message>
        <location filename="../qgis_common/styles.py" line="204"/>
        <source>Could not style &apos;{}&apos;: {}</source>
        <translation>'{}' konnte nicht gestaltet werden: {}</translation>
    </message>
    <message>
        <location filename="../qgis_common/results_group.py" line="168"/>
        <source>Could not load the results into a layer group: {}</source>
        <translation>Die Ergebnisse konnten nicht in eine Layergruppe geladen werden: {}</translation>
    </message>
    <message>
        <location filename="../qgis_common/network.py" line="45"/>
        <source>QGIS&apos;s authentication system is disabled: {}</source>
        <translation>Das Authentifizierungssystem von QGIS ist deaktiviert: {}</translation>
    </message>
    <message>
        <location filename="../qgis_common/network.py" line="49"/>
        <source>No usable authentication configuration &apos;{}&apos; (is the master password entered?).</source>
        <translation>Keine verwendbare Authentifizierungskonfiguration '{}' (ist das Master-Passwort eingegeben?).</translation>
    </message>
    <message>
        <location filename="../qgis_common/network.py" line="27"/>
        <source>The authentication configuration &apos;{}&apos; has no user name; use a Basic (user name and password) configuration.</source>
        <translation>Die Authentifizierungskonfiguration '{}' hat keinen Benutzernamen; verwenden Sie eine Basic-Konfiguration (Benutzername und Passwort).</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="399"/>
        <source>Label Migration</source>
        <translation>Label Migration</translation>
    </message>
    <message>
        <location filename="../processing/provider.py" line="38"/>
        <source>Label Migration: move labels onto Sentinel-2 imagery</source>
        <translation>Label Migration: Labels auf Sentinel-2-Bilder übertragen</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="20"/>
        <source>Rasterize labels by class</source>
        <translation>Labels nach Klassen rastern</translation>
    </message>
    <message>
        <location filename="../processing/segment.py" line="64"/>
        <source>Class config</source>
        <translation>Klassenkonfiguration</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="50"/>
        <source>All touched</source>
        <translation>Alle berührten Pixel</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="51"/>
        <source>Class raster</source>
        <translation>Klassenraster</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="52"/>
        <source>RGB-encoded</source>
        <translation>RGB-kodiert</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="132"/>
        <source>The filter of class &apos;{}&apos; is not a valid expression: {}</source>
        <translation>Der Filter der Klasse '{}' ist kein gültiger Ausdruck: {}</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="157"/>
        <source>{}: {} features</source>
        <translation>{}: {} Objekte</translation>
    </message>
    <message>
        <location filename="../processing/segment.py" line="120"/>
        <source>{}: {} pixels</source>
        <translation>{}: {} Pixel</translation>
    </message>
    <message>
        <location filename="../processing/safe_to_geotiff.py" line="16"/>
        <source>Sentinel-2 product to GeoTIFF</source>
        <translation>Sentinel-2-Produkt nach GeoTIFF</translation>
    </message>
    <message>
        <location filename="../processing/stack_bands.py" line="14"/>
        <source>Rasters</source>
        <translation>Raster</translation>
    </message>
    <message>
        <location filename="../processing/safe_to_geotiff.py" line="47"/>
        <source>Add the scene classification</source>
        <translation>Szenenklassifikation hinzufügen</translation>
    </message>
    <message>
        <location filename="../processing/safe_to_geotiff.py" line="48"/>
        <source>Resolution</source>
        <translation>Auflösung</translation>
    </message>
    <message>
        <location filename="../processing/safe_to_geotiff.py" line="50"/>
        <source>Resampling</source>
        <translation>Resampling</translation>
    </message>
    <message>
        <location filename="../processing/safe_to_geotiff.py" line="52"/>
        <source>Reflectance</source>
        <translation>Reflektanz</translation>
    </message>
    <message>
        <location filename="../processing/safe_to_geotiff.py" line="53"/>
        <source>Cloud-optimised</source>
        <translation>Cloud-optimiert</translation>
    </message>
    <message>
        <location filename="../processing/safe_to_geotiff.py" line="54"/>
        <source>GeoTIFF</source>
        <translation>GeoTIFF</translation>
    </message>
    <message>
        <location filename="../processing/safe_to_geotiff.py" line="69"/>
        <source>{} product, processing baseline {}, EPSG:{}, {} x {} pixels, bands {}</source>
        <translation>{}-Produkt, Processing Baseline {}, EPSG:{}, {} x {} Pixel, Bänder {}</translation>
    </message>
    <message>
        <location filename="../processing/search_scenes.py" line="23"/>
        <source>Search Sentinel-2 scenes</source>
        <translation>Sentinel-2-Szenen suchen</translation>
    </message>
    <message>
        <location filename="../processing/search_scenes.py" line="71"/>
        <source>Label field</source>
        <translation>Label-Feld</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="74"/>
        <source>Date field</source>
        <translation>Datumsfeld</translation>
    </message>
    <message>
        <location filename="../processing/search_scenes.py" line="80"/>
        <source>Match table</source>
        <translation>Zuordnungstabelle</translation>
    </message>
    <message>
        <location filename="../processing/search_scenes.py" line="90"/>
        <source>{} matches for {} labels</source>
        <translation>{} Zuordnungen für {} Labels</translation>
    </message>
    <message>
        <location filename="../processing/search_scenes.py" line="109"/>
        <source>Label-scene matches</source>
        <translation>Label-Szenen-Zuordnungen</translation>
    </message>
    <message>
        <location filename="../processing/search_scenes.py" line="134"/>
        <source>No date for the labels {}: give DATE, or a DATE_FIELD holding each label&apos;s date.</source>
        <translation>Kein Datum für die Labels {}: Geben Sie DATE an oder ein DATE_FIELD mit dem Datum jedes Labels.</translation>
    </message>
    <message>
        <location filename="../processing/segment.py" line="20"/>
        <source>Segment with a model</source>
        <translation>Mit einem Modell segmentieren</translation>
    </message>
    <message>
        <location filename="../processing/segment.py" line="77"/>
        <source>Classes</source>
        <translation>Klassen</translation>
    </message>
    <message>
        <location filename="../processing/segment.py" line="78"/>
        <source>Heatmaps</source>
        <translation>Heatmaps</translation>
    </message>
    <message>
        <location filename="../processing/segment.py" line="80"/>
        <source>Counts</source>
        <translation>Zählungen</translation>
    </message>
    <message>
        <location filename="../processing/segment.py" line="130"/>
        <source>Class counts</source>
        <translation>Pixel je Klasse</translation>
    </message>
    <message>
        <location filename="../processing/stack_bands.py" line="13"/>
        <source>Stack bands</source>
        <translation>Bänder stapeln</translation>
    </message>
    <message>
        <location filename="../processing/stack_bands.py" line="34"/>
        <source>Input bands</source>
        <translation>Eingabebänder</translation>
    </message>
    <message>
        <location filename="../processing/stack_bands.py" line="37"/>
        <source>Stacked raster</source>
        <translation>Gestapeltes Raster</translation>
    </message>
    <message>
        <location filename="../processing/stack_bands.py" line="49"/>
        <source>Bands: {}</source>
        <translation>Bänder: {}</translation>
    </message>
    <message>
        <location filename="../qgis_common/styles.py" line="25"/>
        <source>clear</source>
        <translation>wolkenfrei</translation>
    </message>
    <message>
        <location filename="../qgis_common/styles.py" line="25"/>
        <source>cloud</source>
        <translation>Wolke</translation>
    </message>
    <message>
        <location filename="../ui/about_dialog.py" line="91"/>
        <source>About Label Migration</source>
        <translation>Über Label Migration</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="44"/>
        <source>Label Migration — Python dependencies</source>
        <translation>Label Migration — Python-Abhängigkeiten</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="67"/>
        <source>Packages the plugin imports, looked up in the Python that QGIS runs and in the plugin&apos;s package folder. Tick the ones to install; packages QGIS ships (GDAL, numpy, PyQt) are never installed or changed.</source>
        <translation>Pakete, die das Plugin importiert, gesucht im Python von QGIS und im Paketordner des Plugins. Haken Sie die zu installierenden an; Pakete, die QGIS mitbringt (GDAL, numpy, PyQt), werden nie installiert oder verändert.</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="85"/>
        <source>Install with --user instead of into the plugin&apos;s folder</source>
        <translation>Mit --user statt in den Ordner des Plugins installieren</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="97"/>
        <source>Install selected</source>
        <translation>Ausgewählte installieren</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="100"/>
        <source>Cancel install</source>
        <translation>Installation abbrechen</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="104"/>
        <source>Test imports</source>
        <translation>Importe testen</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="106"/>
        <source>Import each installed package in a separate Python process</source>
        <translation>Jedes installierte Paket in einem eigenen Python-Prozess importieren</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="129"/>
        <source>Execution provider (onnxruntime)</source>
        <translation>Execution Provider (onnxruntime)</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="131"/>
        <source>Not checked yet: checking imports onnxruntime.</source>
        <translation>Noch nicht geprüft: Die Prüfung importiert onnxruntime.</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="29"/>
        <source>Check</source>
        <translation>Prüfen</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="158"/>
        <source>not found</source>
        <translation>nicht gefunden</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="159"/>
        <source>Python: {python}
Package folder: {folder}</source>
        <translation>Python: {python}
Paketordner: {folder}</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="165"/>
        <source> (optional)</source>
        <translation> (optional)</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="192"/>
        <source>Nothing to install</source>
        <translation>Nichts zu installieren</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="218"/>
        <source>Installing {names}…</source>
        <translation>Installiere {names}…</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="251"/>
        <source>Could not start {python}
</source>
        <translation>{python} konnte nicht gestartet werden
</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="252"/>
        <source>pip could not be started: &apos;{python}&apos; is not a program that runs here.</source>
        <translation>pip konnte nicht gestartet werden: '{python}' ist hier kein ausführbares Programm.</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="260"/>
        <source>Cancelled. Packages pip had finished may remain in {folder}; install again to complete them.</source>
        <translation>Abgebrochen. Von pip fertig installierte Pakete können in {folder} verbleiben; installieren Sie erneut, um sie zu vervollständigen.</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="264"/>
        <source>pip failed (exit code {code}); nothing was changed in QGIS&apos;s own packages. </source>
        <translation>pip ist fehlgeschlagen (Exit-Code {code}); an den Paketen von QGIS selbst wurde nichts geändert. </translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="274"/>
        <source>Installed {names}.</source>
        <translation>{names} installiert.</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="276"/>
        <source>Still not usable: {names} (see the table).</source>
        <translation>Noch nicht verwendbar: {names} (siehe Tabelle).</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="278"/>
        <source>Restart QGIS: this session had already imported {names}; the new version loads after a restart.</source>
        <translation>Starten Sie QGIS neu: Diese Sitzung hatte {names} bereits importiert; die neue Version wird nach einem Neustart geladen.</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="281"/>
        <source>They can be used now, without restarting QGIS.</source>
        <translation>Sie können jetzt ohne Neustart von QGIS verwendet werden.</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="347"/>
        <source>onnxruntime failed: {error}</source>
        <translation>onnxruntime ist fehlgeschlagen: {error}</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="349"/>
        <source>onnxruntime {version}; available: {available}. Runs on: {running}.</source>
        <translation>onnxruntime {version}; verfügbar: {available}. Läuft auf: {running}.</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="353"/>
        <source>For NVIDIA GPUs install the GPU build (onnxruntime-gpu, with CUDA and cuDNN) in place of onnxruntime.</source>
        <translation>Für NVIDIA-GPUs installieren Sie statt onnxruntime die GPU-Version (onnxruntime-gpu, mit CUDA und cuDNN).</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="399"/>
        <source>Python packages need installing: {names}.</source>
        <translation>Python-Pakete müssen installiert werden: {names}.</translation>
    </message>
    <message>
        <location filename="../ui/dependencies_dialog.py" line="401"/>
        <source>Install…</source>
        <translation>Installieren…</translation>
    </message>
    <message>
        <location filename="../ui/menu.py" line="42"/>
        <source>Label &amp;Migration</source>
        <translation>Label-&amp;Migration</translation>
    </message>
    <message>
        <location filename="../ui/menu.py" line="46"/>
        <source>Scene search panel…</source>
        <translation>Szenensuche…</translation>
    </message>
    <message>
        <location filename="../ui/menu.py" line="48"/>
        <source>Search Sentinel-2 scenes for label footprints, see quicklooks, download</source>
        <translation>Sentinel-2-Szenen für Label-Umrisse suchen, Vorschaubilder ansehen, herunterladen</translation>
    </message>
    <message>
        <location filename="../ui/menu.py" line="64"/>
        <source>Python dependencies…</source>
        <translation>Python-Abhängigkeiten…</translation>
    </message>
    <message>
        <location filename="../ui/menu.py" line="64"/>
        <source>Check and install the Python packages the plugin needs (onnxruntime, pystac-client, …)</source>
        <translation>Die Python-Pakete prüfen und installieren, die das Plugin braucht (onnxruntime, pystac-client, …)</translation>
    </message>
    <message>
        <location filename="../ui/menu.py" line="64"/>
        <source>About Label Migration…</source>
        <translation>Über Label Migration…</translation>
    </message>
    <message>
        <location filename="../ui/menu.py" line="64"/>
        <source>Version, licence, links and the bundled model&apos;s data attribution</source>
        <translation>Version, Lizenz, Links und Datennachweis des mitgelieferten Modells</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="95"/>
        <source>A folder of georeferenced label rasters, or PNG/JPEG labels each beside the GeoTIFF it was drawn on</source>
        <translation>Ein Ordner mit georeferenzierten Label-Rastern oder PNG/JPEG-Labels, jeweils neben dem GeoTIFF, auf dem sie gezeichnet wurden</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="99"/>
        <source>Date in the file name</source>
        <translation>Datum im Dateinamen</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="100"/>
        <source>Dates CSV (label,date)</source>
        <translation>Datums-CSV (label,date)</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="101"/>
        <source>One date for every label</source>
        <translation>Ein Datum für alle Labels</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="102"/>
        <source>Label dates</source>
        <translation>Label-Daten</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="105"/>
        <source>YYYYMMDD or YYYY-MM-DD (default), or a regular expression</source>
        <translation>JJJJMMTT oder JJJJ-MM-TT (Standard) oder ein regulärer Ausdruck</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="119"/>
        <source>From the cloud model, or from SCL (classes 8, 9, 10) for L2A products when no model is installed</source>
        <translation>Aus dem Wolkenmodell oder, ohne installiertes Modell, aus SCL (Klassen 8, 9, 10) bei L2A-Produkten</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="123"/>
        <source>ONNX models (*.onnx)</source>
        <translation>ONNX-Modelle (*.onnx)</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="124"/>
        <source>Optional; default: the bundled cloud model when installed</source>
        <translation>Optional; Standard: das mitgelieferte Wolkenmodell, falls installiert</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="131"/>
        <source>Migrate</source>
        <translation>Migrieren</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="157"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="134"/>
        <source>Open report</source>
        <translation>Bericht öffnen</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="136"/>
        <source>Open the QA report (report.html) in the browser</source>
        <translation>Den QA-Bericht (report.html) im Browser öffnen</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_requests.py" line="19"/>
        <source>Rank</source>
        <translation>Rang</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_requests.py" line="19"/>
        <source>Title</source>
        <translation>Titel</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_requests.py" line="20"/>
        <source>Date and time</source>
        <translation>Datum und Uhrzeit</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_requests.py" line="20"/>
        <source>Cloud %</source>
        <translation>Wolken %</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_requests.py" line="21"/>
        <source>Coverage %</source>
        <translation>Abdeckung %</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_requests.py" line="21"/>
        <source>Offset (days)</source>
        <translation>Abstand (Tage)</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_requests.py" line="86"/>
        <source>folder</source>
        <translation>Ordner</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="201"/>
        <source>Scene search</source>
        <translation>Szenensuche</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="78"/>
        <source>The date of every label, used when no date field is chosen</source>
        <translation>Das Datum aller Labels, wenn kein Datumsfeld gewählt ist</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="95"/>
        <source>before</source>
        <translation>davor</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="97"/>
        <source>after</source>
        <translation>danach</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="99"/>
        <source>Days</source>
        <translation>Tage</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="105"/>
        <source>Maximum cloud cover</source>
        <translation>Maximale Wolkenbedeckung</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="119"/>
        <source>Choose the archive folder</source>
        <translation>Archivordner wählen</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="42"/>
        <source>Search scenes</source>
        <translation>Szenen suchen</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="133"/>
        <source>Search</source>
        <translation>Suchen</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="146"/>
        <source>No quicklook</source>
        <translation>Kein Vorschaubild</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="152"/>
        <source>Download folder</source>
        <translation>Download-Ordner</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="155"/>
        <source>Download selected</source>
        <translation>Ausgewählte herunterladen</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="65"/>
        <source>Local archive folder</source>
        <translation>Ordner des lokalen Archivs</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="109"/>
        <source>A search, download or migration is already running.</source>
        <translation>Eine Suche, ein Download oder eine Migration läuft bereits.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="113"/>
        <source>The algorithm {} is not available.</source>
        <translation>Der Algorithmus {} ist nicht verfügbar.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="125"/>
        <source>Searching…</source>
        <translation>Suche läuft…</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="125"/>
        <source>Downloading…</source>
        <translation>Download läuft…</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="125"/>
        <source>Migrating labels…</source>
        <translation>Labels werden migriert…</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="132"/>
        <source>Choose a footprint layer.</source>
        <translation>Wählen Sie einen Umriss-Layer.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="163"/>
        <source>Choose the folder of the local archive.</source>
        <translation>Wählen Sie den Ordner des lokalen Archivs.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="141"/>
        <source>Select the scenes to download in the table.</source>
        <translation>Wählen Sie die herunterzuladenden Szenen in der Tabelle aus.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="144"/>
        <source>Choose the download folder.</source>
        <translation>Wählen Sie den Download-Ordner.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="157"/>
        <source>Choose the label folder.</source>
        <translation>Wählen Sie den Label-Ordner.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="160"/>
        <source>Choose the output folder.</source>
        <translation>Wählen Sie den Ausgabeordner.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="166"/>
        <source>Choose the dates CSV.</source>
        <translation>Wählen Sie die Datums-CSV.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="183"/>
        <source>Cancelled.</source>
        <translation>Abgebrochen.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="186"/>
        <source>The {} failed.</source>
        <translation>{} fehlgeschlagen.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="186"/>
        <source>search</source>
        <translation>Suche</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="186"/>
        <source>download</source>
        <translation>Download</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="186"/>
        <source>migration</source>
        <translation>Migration</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="197"/>
        <source>{} files downloaded.</source>
        <translation>{} Dateien heruntergeladen.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="199"/>
        <source>Offline (to be restored first): {}</source>
        <translation>Offline (muss erst wiederhergestellt werden): {}</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="209"/>
        <source>{} complete pairs, {} labels failed; outputs in {}.</source>
        <translation>{} vollständige Paare, {} Labels fehlgeschlagen; Ausgaben in {}.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="213"/>
        <source>The results could not be loaded: {}</source>
        <translation>Die Ergebnisse konnten nicht geladen werden: {}</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="224"/>
        <source>The reasons are in matches.csv and the report.</source>
        <translation>Die Gründe stehen in matches.csv und im Bericht.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="234"/>
        <source>The search returned no scene layer.</source>
        <translation>Die Suche hat keinen Szenen-Layer geliefert.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="250"/>
        <source>{} scenes for {} labels.</source>
        <translation>{} Szenen für {} Labels.</translation>
    </message>
    <message>
        <location filename="../ui/search_dock.py" line="268"/>
        <source>Loading quicklook…</source>
        <translation>Vorschaubild wird geladen…</translation>
    </message>
    <message>
        <location filename="../ui/search_dock_form.py" line="182"/>
        <source>Quicklook not available</source>
        <translation>Vorschaubild nicht verfügbar</translation>
    </message>
    <message>
        <location filename="../ui/about_dialog.py" line="32"/>
        <source>On Cloud N chips (checkpoint selection and evaluation of the bundled cloud model)</source>
        <translation>On-Cloud-N-Chips (Auswahl des Checkpoints und Bewertung des mitgelieferten Wolkenmodells)</translation>
    </message>
    <message>
        <location filename="../ui/about_dialog.py" line="32"/>
        <source>eo-learn example data (real clear-sky spectra in the synthetic training scenes)</source>
        <translation>eo-learn-Beispieldaten (echte wolkenfreie Spektren in den synthetischen Trainingsszenen)</translation>
    </message>
    <message>
        <location filename="../ui/about_dialog.py" line="32"/>
        <source>38-Cloud sample patch (smoke test of the bundled cloud model)</source>
        <translation>38-Cloud-Beispielkachel (Funktionstest des mitgelieferten Wolkenmodells)</translation>
    </message>
    <message>
        <location filename="../ui/about_dialog.py" line="32"/>
        <source>ukis-csmask cloud and cloud-shadow models (cloudmask&apos;s built-in models 1 to 4, when installed and chosen)</source>
        <translation>Wolken- und Wolkenschattenmodelle von ukis-csmask (die eingebauten Modelle 1 bis 4 von cloudmask, wenn installiert und gewählt)</translation>
    </message>
    <message>
        <location filename="../ui/about_dialog.py" line="56"/>
        <source>Licence</source>
        <translation>Lizenz</translation>
    </message>
    <message>
        <location filename="../ui/about_dialog.py" line="56"/>
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <location filename="../ui/about_dialog.py" line="56"/>
        <source>experimental</source>
        <translation>experimentell</translation>
    </message>
    <message>
        <location filename="../ui/about_dialog.py" line="57"/>
        <source>GNU General Public License, version 2 or later; see the LICENSE file</source>
        <translation>GNU General Public License, Version 2 oder neuer; siehe die Datei LICENSE</translation>
    </message>
    <message>
        <location filename="../ui/about_dialog.py" line="58"/>
        <source>Authors</source>
        <translation>Autoren</translation>
    </message>
    <message>
        <location filename="../ui/about_dialog.py" line="58"/>
        <source>Home page</source>
        <translation>Homepage</translation>
    </message>
    <message>
        <location filename="../ui/about_dialog.py" line="58"/>
        <source>Source code</source>
        <translation>Quellcode</translation>
    </message>
    <message>
        <location filename="../ui/about_dialog.py" line="59"/>
        <source>Report a problem</source>
        <translation>Problem melden</translation>
    </message>
    <message>
        <location filename="../ui/about_dialog.py" line="59"/>
        <source>Bundled cloud model and its data</source>
        <translation>Mitgeliefertes Wolkenmodell und seine Daten</translation>
    </message>
    <message>
        <location filename="../ui/about_dialog.py" line="60"/>
        <source>The default cloud model (models/cloud_s2_4band.onnx) is part of Label Migration and under its licence. It was trained on synthetic scenes only; the data below were used in building, selecting or testing it (see models/cloud_s2_4band.md).</source>
        <translation>Das voreingestellte Wolkenmodell (models/cloud_s2_4band.onnx) gehört zu Label Migration und steht unter dessen Lizenz. Es wurde nur mit synthetischen Szenen trainiert; die folgenden Daten dienten seiner Entwicklung, Auswahl oder Prüfung (siehe models/cloud_s2_4band.md).</translation>
    </message>
    <message>
        <location filename="../ui/about_dialog.py" line="63"/>
        <source>Contains modified Copernicus Sentinel data.</source>
        <translation>Enthält veränderte Copernicus-Sentinel-Daten.</translation>
    </message>
    <message>
        <location filename="../processing/crop_scene.py" line="84"/>
        <source>Search result (instead of a scene)</source>
        <translation>Suchergebnis (statt einer Szene)</translation>
    </message>
    <message>
        <location filename="../processing/crop_scene.py" line="87"/>
        <source>Rank of the scene in the search result</source>
        <translation>Rang der Szene im Suchergebnis</translation>
    </message>
    <message>
        <location filename="../processing/crop_scene.py" line="112"/>
        <source>Give either a scene (SCENE) or a search result (SCENES), not both.</source>
        <translation>Geben Sie entweder eine Szene (SCENE) oder ein Suchergebnis (SCENES) an, nicht beides.</translation>
    </message>
    <message>
        <location filename="../processing/crop_scene.py" line="113"/>
        <source>Give a scene (SCENE) or a search result to take it from (SCENES).</source>
        <translation>Geben Sie eine Szene (SCENE) oder ein Suchergebnis an, aus dem sie genommen wird (SCENES).</translation>
    </message>
    <message>
        <location filename="../processing/crop_scene.py" line="137"/>
        <source>Scene of rank {} in the search result: {}</source>
        <translation>Szene mit Rang {} im Suchergebnis: {}</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="155"/>
        <source>Download URL</source>
        <translation>Download-URL</translation>
    </message>
    <message>
        <location filename="../processing/algorithm.py" line="148"/>
        <source>{} ran out of memory. Crop the input first or use smaller tiles.</source>
        <translation>{}: Der Arbeitsspeicher reicht nicht aus. Schneiden Sie die Eingabe zuerst zu oder verwenden Sie kleinere Kacheln.</translation>
    </message>
    <message>
        <location filename="../processing/algorithm.py" line="156"/>
        <source>{} failed unexpectedly: {}: {}. The details are in {}.</source>
        <translation>{} ist unerwartet fehlgeschlagen: {}: {}. Die Einzelheiten stehen in {}.</translation>
    </message>
    <message>
        <location filename="../processing/algorithm.py" line="280"/>
        <source>the file {}</source>
        <translation>der Datei {}</translation>
    </message>
    <message>
        <location filename="../processing/algorithm.py" line="291"/>
        <source>the log (View &gt; Panels &gt; Log Messages, tab &apos;{}&apos;)</source>
        <translation>dem Protokoll (Ansicht &gt; Bedienfelder &gt; Protokollmeldungen, Reiter '{}')</translation>
    </message>
    <message>
        <location filename="../processing/algorithm.py" line="292"/>
        <source>no log (the settings folder cannot be written)</source>
        <translation>keinem Protokoll (der Einstellungsordner ist nicht beschreibbar)</translation>
    </message>
    <message>
        <location filename="../processing/algorithm.py" line="296"/>
        <source>a file</source>
        <translation>eine Datei</translation>
    </message>
    <message>
        <location filename="../processing/algorithm.py" line="300"/>
        <source>Cannot read or write {}: {}.</source>
        <translation>{} kann nicht gelesen oder geschrieben werden: {}.</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="202"/>
        <source>Cloud polygons (OUTPUT_VECTOR) need a georeferenced image, but the input raster INPUT (&apos;{}&apos;) has no coordinate reference system. Assign one first, or leave OUTPUT_VECTOR empty.</source>
        <translation>Wolkenpolygone (OUTPUT_VECTOR) brauchen ein georeferenziertes Bild, aber das Eingaberaster INPUT ('{}') hat kein Koordinatenbezugssystem. Weisen Sie zuerst eines zu oder lassen Sie OUTPUT_VECTOR leer.</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="236"/>
        <source>The cloud mask was written, but the cloud polygons (OUTPUT_VECTOR) could not be: {}</source>
        <translation>Die Wolkenmaske wurde geschrieben, die Wolkenpolygone (OUTPUT_VECTOR) aber nicht: {}</translation>
    </message>
    <message>
        <location filename="../processing/download_scenes.py" line="20"/>
        <source>Downloads the scenes of a layer made by &lt;i&gt;Search Sentinel-2 scenes&lt;/i&gt; (all features, or only the selected ones): whole products, or only the named assets of STAC scenes (Cloud-Optimised GeoTIFFs). Downloads resume after a cut connection, retry on 429/503 honouring Retry-After, run at most 4 at a time, are verified by the catalogue&apos;s checksum (MD5, SHA-256, BLAKE3 when the blake3 package is installed) or size, and appear under their final name only when complete. Products kept in a long-term archive (offline) are reported, not treated as errors.&lt;br&gt;&lt;br&gt;&lt;b&gt;Scenes&lt;/b&gt; (SCENES): the scene layer.&lt;br&gt;&lt;b&gt;Folder&lt;/b&gt; (FOLDER): where the files go: &amp;lt;title&amp;gt;.zip for products, &amp;lt;id&amp;gt;/&amp;lt;asset&amp;gt;.&amp;lt;ext&amp;gt; for assets (names from the layer are made safe file names; nothing is written outside the folder). A download must be what was asked for: an HTML page or JSON instead of a zip or GeoTIFF is refused.&lt;br&gt;&lt;b&gt;Assets&lt;/b&gt; (ASSETS): comma-separated STAC asset names (e.g. &lt;code&gt;blue,green,red,nir,scl&lt;/code&gt;); empty = the whole product.&lt;br&gt;&lt;b&gt;Authentication&lt;/b&gt; (AUTHCFG): a QGIS authentication configuration with the account&apos;s user name and password (Copernicus Data Space: a bearer token is fetched and refreshed before it expires; DHuS: HTTP Basic). Never stored in settings, logs or projects. The credentials go only to the servers they belong to: for Copernicus Data Space scenes the *.dataspace.copernicus.eu hosts and the token URL&apos;s host; the server in the configuration&apos;s URL field; the server of URL. Any other host named by the layer gets none (the log says so).&lt;br&gt;&lt;b&gt;Token URL&lt;/b&gt; (TOKEN_URL): the Copernicus Data Space token endpoint (default the public one).&lt;br&gt;&lt;b&gt;Server of the account&lt;/b&gt; (URL): the address of the service the credentials are for, when the authentication configuration has no URL.&lt;br&gt;Timeouts and the retry deadline are the plugin&apos;s settings (Settings &gt; Options &gt; Processing &gt; Providers &gt; Label Migration).&lt;br&gt;DOWNLOADED lists the files written; OFFLINE the products that must first be restored.&lt;br&gt;&lt;br&gt;Example: &lt;code&gt;qgis_process run labelmigration:downloadscenes -- SCENES=scenes.gpkg FOLDER=/data/sentinel2 AUTHCFG=ab12cde&lt;/code&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../processing/download_scenes.py" line="59"/>
        <source>Server of the account</source>
        <translation>Server des Kontos</translation>
    </message>
    <message>
        <location filename="../processing/download_scenes.py" line="103"/>
        <source>If that host is the account&apos;s server, give its address in the authentication configuration&apos;s URL field or in URL (Server of the account).</source>
        <translation>Wenn dieser Host der Server des Kontos ist, geben Sie seine Adresse im URL-Feld der Authentifizierungskonfiguration oder in URL (Server des Kontos) an.</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_segmentation.py" line="19"/>
        <source>Scores a predicted class raster (e.g. a cloud mask) against ground truth, pixel by pixel, with nodata of either raster left out. When the grids differ the prediction is warped onto the truth&apos;s grid with nearest neighbour.&lt;br&gt;&lt;br&gt;&lt;b&gt;Prediction&lt;/b&gt; (PREDICTION): the class raster to score.&lt;br&gt;&lt;b&gt;Ground truth&lt;/b&gt; (GROUND_TRUTH): the reference class raster.&lt;br&gt;&lt;b&gt;Positive class&lt;/b&gt; (POSITIVE): with two classes, the class whose precision, recall, IoU and F1 are reported (default 1, e.g. cloud); the run fails when it is not one of them. With more classes the means over classes are reported.&lt;br&gt;&lt;b&gt;Confusion matrix&lt;/b&gt; (OUTPUT_TABLE): CSV, truth classes in rows, predicted classes in columns.&lt;br&gt;Outputs ACCURACY, PRECISION, RECALL, IOU, F1, and PER_CLASS (one line per class).&lt;br&gt;&lt;br&gt;Example: &lt;code&gt;qgis_process run labelmigration:evaluatesegmentation -- PREDICTION=cloudmask.tif GROUND_TRUTH=truth.tif OUTPUT_TABLE=confusion.csv&lt;/code&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../processing/evaluate_segmentation.py" line="57"/>
        <source>POSITIVE ({}) is used only when the rasters hold two classes; these hold {}, so the means over the classes are reported.</source>
        <translation>POSITIVE ({}) gilt nur, wenn die Raster zwei Klassen enthalten; diese enthalten {}, daher werden die Mittelwerte über die Klassen ausgegeben.</translation>
    </message>
    <message>
        <location filename="../processing/mask_footprint.py" line="76"/>
        <source>Target CRS (TARGET_CRS): {!r} is not a coordinate reference system QGIS knows.</source>
        <translation>Ziel-KBS (TARGET_CRS): {!r} ist kein Koordinatenbezugssystem, das QGIS kennt.</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="22"/>
        <source>Burns polygon or line labels onto the grid of a reference raster, one class per filter expression, as a training label.&lt;br&gt;&lt;br&gt;&lt;b&gt;Labels&lt;/b&gt; (INPUT): a polygon or line layer, e.g. OpenStreetMap land use.&lt;br&gt;&lt;b&gt;Class config&lt;/b&gt; (CLASSES): a JSON file or text: a list of &lt;code&gt;{&quot;name&quot;: &quot;Residential&quot;, &quot;color&quot;: &quot;#010101&quot;, &quot;filter&quot;: &quot;\&quot;landuse\&quot; = &apos;residential&apos;&quot;}&lt;/code&gt; (or skynet-data&apos;s &lt;code&gt;{&quot;classes&quot;: [...]}&lt;/code&gt; with &lt;code&gt;[field]&lt;/code&gt; filters). Class 1 is the first entry; later classes paint over earlier ones; unmatched pixels are background 0.&lt;br&gt;&lt;b&gt;Reference raster&lt;/b&gt; (REFERENCE): the grid (CRS, extent, pixel size) to burn onto.&lt;br&gt;&lt;b&gt;All touched&lt;/b&gt; (ALL_TOUCHED): burn every pixel a geometry touches (thin lines need it).&lt;br&gt;&lt;b&gt;Class raster&lt;/b&gt; (OUTPUT): uint8 with a colour table (visible colours for near-black codes).&lt;br&gt;&lt;b&gt;RGB-encoded&lt;/b&gt; (OUTPUT_RGB): optional 3-band raster in the classes&apos; encoding colours, as the seed&apos;s skynet-data labels.&lt;br&gt;Labels that do not overlap the reference raster, or a filter naming a field the layer lacks, fail the run; a class raster that comes out all background is written with a warning.&lt;br&gt;&lt;br&gt;Example: &lt;code&gt;qgis_process run labelmigration:rasterizelabels -- INPUT=osm_landuse.gpkg CLASSES=classes.json REFERENCE=pair_image.tif OUTPUT=landuse_label.tif&lt;/code&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="82"/>
        <source>No class covers any pixel of the reference grid: the class raster is all background. Check the class filters and the labels&apos; extent.</source>
        <translation>Keine Klasse bedeckt ein Pixel des Referenzrasters: Das Klassenraster ist ganz Hintergrund. Prüfen Sie die Klassenfilter und die Ausdehnung der Labels.</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="94"/>
        <source>The reference raster REFERENCE (&apos;{}&apos;) has no coordinate reference system, so the labels cannot be placed on its grid. Assign one to it first.</source>
        <translation>Das Referenzraster REFERENCE ('{}') hat kein Koordinatenbezugssystem, daher können die Labels nicht auf sein Raster gelegt werden. Weisen Sie ihm zuerst eines zu.</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="98"/>
        <source>The labels layer INPUT (&apos;{}&apos;) has no coordinate reference system. Assign one to it first (Layer Properties &gt; Source).</source>
        <translation>Der Label-Layer INPUT ('{}') hat kein Koordinatenbezugssystem. Weisen Sie ihm zuerst eines zu (Layereigenschaften &gt; Quelle).</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="102"/>
        <source>The labels layer INPUT (&apos;{}&apos;) has no features: the class raster would be all background.</source>
        <translation>Der Label-Layer INPUT ('{}') hat keine Objekte: Das Klassenraster wäre ganz Hintergrund.</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="109"/>
        <source>The extent of the labels layer INPUT (&apos;{}&apos;, {}) cannot be transformed to the reference raster&apos;s CRS ({}): {}</source>
        <translation>Die Ausdehnung des Label-Layers INPUT ('{}', {}) lässt sich nicht in das KBS des Referenzrasters ({}) transformieren: {}</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="113"/>
        <source>The labels layer INPUT (&apos;{}&apos;) does not overlap the reference raster REFERENCE (&apos;{}&apos;): the labels cover {} and the reference {} (in {}), so the class raster would be all background. Choose a reference raster over the labels.</source>
        <translation>Der Label-Layer INPUT ('{}') überlappt das Referenzraster REFERENCE ('{}') nicht: Die Labels bedecken {} und die Referenz {} (in {}), das Klassenraster wäre also ganz Hintergrund. Wählen Sie ein Referenzraster über den Labels.</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="138"/>
        <source>The filter of class &apos;{}&apos; ({}) names the field(s) {}, which the labels layer INPUT does not have; its fields are: {}.</source>
        <translation>Der Filter der Klasse '{}' ({}) nennt die Felder {}, die der Label-Layer INPUT nicht hat; seine Felder sind: {}.</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_labels.py" line="153"/>
        <source>Feature {} of class &apos;{}&apos; cannot be transformed to the reference raster&apos;s CRS: {}</source>
        <translation>Objekt {} der Klasse '{}' lässt sich nicht in das KBS des Referenzrasters transformieren: {}</translation>
    </message>
    <message>
        <location filename="../processing/segment.py" line="122"/>
        <source>Class {} ({} pixels) has no name in the class config or the model&apos;s class_names; it has no colour of its own.</source>
        <translation>Klasse {} ({} Pixel) hat keinen Namen in der Klassenkonfiguration oder in class_names des Modells; sie hat keine eigene Farbe.</translation>
    </message>
    <message>
        <location filename="../processing/settings.py" line="24"/>
        <source>Largest raster (megapixels)</source>
        <translation>Größtes Raster (Megapixel)</translation>
    </message>
    <message>
        <location filename="../processing/settings.py" line="24"/>
        <source>Largest array in memory (MB, 0 = half the memory)</source>
        <translation>Größtes Array im Speicher (MB, 0 = halber Arbeitsspeicher)</translation>
    </message>
    <message>
        <location filename="../processing/settings.py" line="24"/>
        <source>Largest metadata file (MB)</source>
        <translation>Größte Metadatendatei (MB)</translation>
    </message>
    <message>
        <location filename="../processing/settings.py" line="24"/>
        <source>Connection timeout (s)</source>
        <translation>Zeitlimit für den Verbindungsaufbau (s)</translation>
    </message>
    <message>
        <location filename="../processing/settings.py" line="24"/>
        <source>Read timeout (s)</source>
        <translation>Zeitlimit beim Lesen (s)</translation>
    </message>
    <message>
        <location filename="../processing/settings.py" line="24"/>
        <source>Stalled download timeout (s)</source>
        <translation>Zeitlimit für stockende Downloads (s)</translation>
    </message>
    <message>
        <location filename="../processing/settings.py" line="24"/>
        <source>Give up retrying after (s)</source>
        <translation>Wiederholungen aufgeben nach (s)</translation>
    </message>
    <message>
        <location filename="../processing/input_scaling_parameter.py" line="12"/>
        <source>Automatic (from the bands&apos; scale/offset, data type and values)</source>
        <translation>Automatisch (aus Skalierung/Offset der Bänder, Datentyp und Werten)</translation>
    </message>
    <message>
        <location filename="../processing/input_scaling_parameter.py" line="12"/>
        <source>Raw DN with the model&apos;s scaling</source>
        <translation>Rohe DN mit der Skalierung des Modells</translation>
    </message>
    <message>
        <location filename="../processing/input_scaling_parameter.py" line="12"/>
        <source>Reflectance 0-1</source>
        <translation>Reflektanz 0-1</translation>
    </message>
    <message>
        <location filename="../processing/input_scaling_parameter.py" line="12"/>
        <source>8-bit 0-255</source>
        <translation>8 Bit 0-255</translation>
    </message>
    <message>
        <location filename="../processing/input_scaling_parameter.py" line="20"/>
        <source>Input scaling</source>
        <translation>Eingabeskalierung</translation>
    </message>
    <message>
        <location filename="../processing/input_scaling_parameter.py" line="22"/>
        <source>Warnings</source>
        <translation>Warnungen</translation>
    </message>
    <message>
        <location filename="../processing/input_scaling_parameter.py" line="35"/>
        <source>Input scaling: {}</source>
        <translation>Eingabeskalierung: {}</translation>
    </message>
    <message>
        <location filename="../processing/segment.py" line="69"/>
        <source>Resample to the model&apos;s resolution</source>
        <translation>Auf die Auflösung des Modells umrechnen</translation>
    </message>
    <message>
        <location filename="../processing/segment.py" line="71"/>
        <source>Model resolution (cm/px, 0 = the model&apos;s)</source>
        <translation>Modellauflösung (cm/px, 0 = die des Modells)</translation>
    </message>
    <message>
        <location filename="../processing/segment.py" line="74"/>
        <source>Small-segment filter size (px; empty = the model&apos;s, 0 = none)</source>
        <translation>Größe des Kleinsegmentfilters (px; leer = die des Modells, 0 = keiner)</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="133"/>
        <source>Mark cloud shadow (value 2)</source>
        <translation>Wolkenschatten markieren (Wert 2)</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="143"/>
        <source>Cloud shadow of the valid pixels (%)</source>
        <translation>Wolkenschatten der gültigen Pixel (%)</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="177"/>
        <source>Cloud model classes: {}</source>
        <translation>Klassen des Wolkenmodells: {}</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="179"/>
        <source>Cloud shadow was asked for (SHADOW), but the model has no cloud shadow class: the mask holds cloud and clear only, and SHADOW_PERCENT is 0.</source>
        <translation>Wolkenschatten wurde verlangt (SHADOW), aber das Modell hat keine Wolkenschattenklasse: Die Maske enthält nur Wolke und wolkenfrei, und SHADOW_PERCENT ist 0.</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="188"/>
        <source>Cloud shadow: {:.2f}% of the valid pixels</source>
        <translation>Wolkenschatten: {:.2f}% der gültigen Pixel</translation>
    </message>
    <message>
        <location filename="../qgis_common/styles.py" line="25"/>
        <source>cloud shadow</source>
        <translation>Wolkenschatten</translation>
    </message>
    <message>
        <location filename="../processing/algorithm.py" line="265"/>
        <source>Unknown value &apos;{}&apos; for {}: give one of the names {} or their numbers 0 to {}.</source>
        <translation>Unbekannter Wert '{}' für {}: einen der Namen {} oder ihre Nummern 0 bis {} angeben.</translation>
    </message>
    <message>
        <location filename="../processing/coregistration_parameters.py" line="26"/>
        <source>Co-register</source>
        <translation>Koregistrieren</translation>
    </message>
    <message>
        <location filename="../processing/coregistration_parameters.py" line="26"/>
        <source>Measure the shift only</source>
        <translation>Nur die Verschiebung messen</translation>
    </message>
    <message>
        <location filename="../processing/coregistration_parameters.py" line="26"/>
        <source>Measure and move the label when confident</source>
        <translation>Messen und das Label bei hoher Sicherheit verschieben</translation>
    </message>
    <message>
        <location filename="../processing/crop_scene.py" line="100"/>
        <source>Source image</source>
        <translation>Quellbild</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="16"/>
        <source>Export dataset for machine learning</source>
        <translation>Datensatz für maschinelles Lernen exportieren</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="62"/>
        <source>Migrated folder</source>
        <translation>Migrierter Ordner</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="64"/>
        <source>Chip size (pixels)</source>
        <translation>Kachelgröße (Pixel)</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="66"/>
        <source>Overlap (pixels)</source>
        <translation>Überlappung (Pixel)</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="68"/>
        <source>Maximum nodata (%)</source>
        <translation>Maximal NoData (%)</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="68"/>
        <source>Maximum cloud (%)</source>
        <translation>Maximal Wolken (%)</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="68"/>
        <source>Maximum cloud shadow (%)</source>
        <translation>Maximal Wolkenschatten (%)</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="72"/>
        <source>Split block size (m)</source>
        <translation>Blockgröße der Aufteilung (m)</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="74"/>
        <source>Train share</source>
        <translation>Anteil Training</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="74"/>
        <source>Validation share</source>
        <translation>Anteil Validierung</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="74"/>
        <source>Test share</source>
        <translation>Anteil Test</translation>
    </message>
    <message>
        <location filename="../processing/train_segmentation.py" line="64"/>
        <source>Seed</source>
        <translation>Startwert</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="81"/>
        <source>GeoParquet index</source>
        <translation>GeoParquet-Index</translation>
    </message>
    <message>
        <location filename="../processing/train_segmentation.py" line="53"/>
        <source>Dataset folder</source>
        <translation>Datensatzordner</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="80"/>
        <source>STAC catalogue</source>
        <translation>STAC-Katalog</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="84"/>
        <source>Chips</source>
        <translation>Kacheln</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="85"/>
        <source>Train chips</source>
        <translation>Trainingskacheln</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="85"/>
        <source>Validation chips</source>
        <translation>Validierungskacheln</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="85"/>
        <source>Test chips</source>
        <translation>Testkacheln</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="103"/>
        <source>{} chips from {} pairs: {} train, {} validation, {} test; dropped: {}</source>
        <translation>{} Kacheln aus {} Paaren: {} Training, {} Validierung, {} Test; verworfen: {}</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="107"/>
        <source>Dataset chips</source>
        <translation>Datensatzkacheln</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="166"/>
        <source>Source images (folder)</source>
        <translation>Quellbilder (Ordner)</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="174"/>
        <source>Export a dataset for machine learning</source>
        <translation>Einen Datensatz für maschinelles Lernen exportieren</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="247"/>
        <source>Exporting the dataset…</source>
        <translation>Datensatz wird exportiert…</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="254"/>
        <source>No dataset was exported: {}</source>
        <translation>Es wurde kein Datensatz exportiert: {}</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="256"/>
        <source>Dataset: {} chips ({} train, {} validation, {} test) in {}</source>
        <translation>Datensatz: {} Kacheln ({} Training, {} Validierung, {} Test) in {}</translation>
    </message>
    <message>
        <location filename="../processing/safe_to_geotiff.py" line="18"/>
        <source>Converts a Sentinel-2 L1C or L2A product into one multiband GeoTIFF with every band on one grid, read where it lies (a zip is read in place, never extracted).&lt;br&gt;&lt;br&gt;&lt;b&gt;Product&lt;/b&gt; (INPUT): the .SAFE folder, the product zip, or its MTD_MSIL1C.xml / MTD_MSIL2A.xml; or an EOPF Zarr product (a .zarr folder or URL, Zarr v2 or v3; radiometry from its arrays&apos; scale_factor and add_offset).&lt;br&gt;&lt;b&gt;Bands&lt;/b&gt; (BANDS): comma-separated band names in output order, e.g. &lt;code&gt;B02,B03,B04,B08&lt;/code&gt;; empty = all spectral bands (B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B10 B11 B12; L2A has no B10).&lt;br&gt;&lt;b&gt;Add the scene classification&lt;/b&gt; (INCLUDE_SCL): L2A only; appends SCL (always nearest neighbour).&lt;br&gt;&lt;b&gt;Resolution&lt;/b&gt; (RESOLUTION): 10, 20 or 60 m: the tile&apos;s grid at that resolution (0, 1, 2).&lt;br&gt;&lt;b&gt;Resampling&lt;/b&gt; (RESAMPLING): for bands of another native resolution; bilinear by default. Nodata (DN 0) never blends into valid pixels.&lt;br&gt;&lt;b&gt;Reflectance&lt;/b&gt; (REFLECTANCE): float32 reflectance = (DN + offset) / quantification, with the offset (-1000 from processing baseline 04.00 on) and quantification read from the product&apos;s own metadata; nodata NaN. Off: uint16 DN unchanged with the same offset and scale stored as band metadata, nodata 0.&lt;br&gt;&lt;b&gt;Cloud-optimised&lt;/b&gt; (COG): write a COG with overviews instead of a tiled GeoTIFF.&lt;br&gt;&lt;b&gt;GeoTIFF&lt;/b&gt; (OUTPUT): band descriptions are the band names.&lt;br&gt;&lt;br&gt;Example: &lt;code&gt;qgis_process run labelmigration:safetogeotiff -- INPUT=S2B_MSIL2A_20200815T102559_N0214_R108_T32UPU_20200815T130012.zip BANDS=B02,B03,B04,B08 RESOLUTION=0 REFLECTANCE=true OUTPUT=T32UPU_20200815.tif&lt;/code&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../qgis_common/styles.py" line="143"/>
        <source>Change outlier: check the label</source>
        <translation>Auffällige Änderung: Label prüfen</translation>
    </message>
    <message>
        <location filename="../qgis_common/styles.py" line="143"/>
        <source>Label moved by its shift</source>
        <translation>Label um seinen Versatz verschoben</translation>
    </message>
    <message>
        <location filename="../qgis_common/styles.py" line="143"/>
        <source>Other pairs</source>
        <translation>Übrige Paare</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="29"/>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="29"/>
        <source>Shift x (m)</source>
        <translation>Versatz x (m)</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="29"/>
        <source>Shift y (m)</source>
        <translation>Versatz y (m)</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="29"/>
        <source>Shift confidence</source>
        <translation>Versatz-Konfidenz</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="29"/>
        <source>Moved (m)</source>
        <translation>Verschoben (m)</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="29"/>
        <source>Change score</source>
        <translation>Änderungswert</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="74"/>
        <source>change</source>
        <translation>Änderung</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="140"/>
        <source>Flagged pairs only</source>
        <translation>Nur markierte Paare</translation>
    </message>
    <message>
        <location filename="../ui/migrate_panel.py" line="141"/>
        <source>Only the pairs whose change score stands out from the run (the report&apos;s &quot;Check these labels&quot;)</source>
        <translation>Nur die Paare, deren Änderungswert im Lauf heraussticht (im Bericht „Check these labels“)</translation>
    </message>
    <message>
        <location filename="../processing/export_dataset.py" line="18"/>
        <source>Cuts the image/label pairs of a &lt;i&gt;Migrate labels&lt;/i&gt; output folder into chips that training frameworks read, with a STAC catalogue, a GeoParquet index and spatially blocked train/validation/test splits.&lt;br&gt;&lt;br&gt;&lt;b&gt;Migrated folder&lt;/b&gt; (INPUT): the OUTPUT_FOLDER of migratelabels (matches.csv, images/, labels/, and masks/ when it wrote cloud masks).&lt;br&gt;&lt;b&gt;Chip size&lt;/b&gt; (CHIP_SIZE) in pixels, default 256, and &lt;b&gt;Overlap&lt;/b&gt; (OVERLAP), the pixels shared by neighbouring chips, default 0: chips step by size minus overlap; the last chip of a row or column ends at the pair's edge, and a pair smaller than a chip gives one chip padded with nodata.&lt;br&gt;&lt;b&gt;Maximum nodata&lt;/b&gt; (MAX_NODATA), % of the chip, default 50; &lt;b&gt;Maximum cloud&lt;/b&gt; (MAX_CLOUD) and &lt;b&gt;Maximum cloud shadow&lt;/b&gt; (MAX_SHADOW), % of the chip's pixels with data, default 20: chips above a threshold are dropped. Cloud and shadow come from the pair's cloud mask (1 cloud, 2 shadow); chips of a pair without one are not checked for cloud, and the log says so.&lt;br&gt;&lt;b&gt;Block size&lt;/b&gt; (BLOCK_SIZE) in metres, default 10240: the splits are made of square blocks of this size; a chip belongs to the block holding its centre. &lt;b&gt;Train share&lt;/b&gt; (TRAIN_SHARE), &lt;b&gt;Validation share&lt;/b&gt; (VALIDATION_SHARE) and &lt;b&gt;Test share&lt;/b&gt; (TEST_SHARE), default 70, 15 and 15, are the shares of the chips; blocks go to the split furthest below its share, in an order shuffled by &lt;b&gt;Seed&lt;/b&gt; (SEED): the same input and seed always give the same splits. No two chips that touch or overlap fall in different splits: where they would, the train chip (or else the validation chip) is dropped.&lt;br&gt;&lt;b&gt;GeoParquet index&lt;/b&gt; (GEOPARQUET), default on,: writes chips.parquet; it needs the Python package pyarrow (Plugins &gt; Label Migration &gt; Python dependencies…). Without it the rest is written and a warning says what to install.&lt;br&gt;&lt;b&gt;Dataset folder&lt;/b&gt; (OUTPUT): a new or empty folder outside the migrated folder (an earlier export there is replaced once the new one is complete). It receives images/, labels/ and masks/ (cloud-optimised GeoTIFF chips, the pair's pixels unchanged), catalog.json (CATALOG: a STAC catalogue, one item per chip with the label extension, the assets image, labels and cloud_mask, its split and its provenance: source label, scene, time offset, cloud fraction, and shift and change scores where matches.csv has them), chips.parquet (INDEX) and chips.gpkg (CHIPS_LAYER: the chips' outlines by split, loaded from the dialog). CHIPS, TRAIN, VALIDATION and TEST count the chips.&lt;br&gt;&lt;br&gt;Example: &lt;code&gt;qgis_process run labelmigration:exportdataset -- INPUT=/data/migrated CHIP_SIZE=256 OVERLAP=32 MAX_CLOUD=10 BLOCK_SIZE=5120 SEED=1 OUTPUT=/data/dataset&lt;/code&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../processing/search_scenes.py" line="25"/>
        <source>Finds, for each label footprint, the Sentinel-2 scenes taken within a date window with little cloud, and records which scene belongs to which label.&lt;br&gt;&lt;br&gt;&lt;b&gt;Footprints&lt;/b&gt; (FOOTPRINTS): polygons, e.g. from &lt;i&gt;Label footprints&lt;/i&gt;.&lt;br&gt;&lt;b&gt;Label field&lt;/b&gt; (LABEL_FIELD): the field naming each label (default &lt;i&gt;label&lt;/i&gt;, else the feature id).&lt;br&gt;&lt;b&gt;Date field&lt;/b&gt; (DATE_FIELD): each label&apos;s date; or &lt;b&gt;Date&lt;/b&gt; (DATE) for all labels.&lt;br&gt;&lt;b&gt;Days before&lt;/b&gt; (DAYS_BEFORE) and &lt;b&gt;Days after&lt;/b&gt; (DAYS_AFTER): the window around the label date (default 10 each, at most 3650).&lt;br&gt;&lt;b&gt;Maximum cloud cover&lt;/b&gt; (MAX_CLOUD): scene cloud cover in % (default 30, as in &lt;i&gt;Migrate labels&lt;/i&gt;, which rates the cloud over the label itself: a scene cloudy elsewhere is often clear over a label, so a strict scene-wide limit loses usable scenes). The scenes that pass are ranked by coverage, then cloud cover; give a lower value to list only the clearest scenes, for example before downloading the whole layer.&lt;br&gt;&lt;b&gt;Product&lt;/b&gt; (PRODUCT): L1C (0) or L2A (1, default).&lt;br&gt;&lt;b&gt;Backend&lt;/b&gt; (BACKEND): 0 Copernicus Data Space OData, 1 STAC API (Earth Search by default; Planetary Computer, CDSE STAC or ESA&apos;s EOPF Zarr catalogue https://stac.core.eopf.eodc.eu by URL), 2 a DHuS hub (the public Copernicus hubs, the Copernicus Open Access Hub among them, closed in 2023; sentinelsat works only against the national mirrors that still run DHuS: give one&apos;s URL), 3 a local archive (a folder of SAFE products, zipped or not, or a static STAC catalog; URL is the folder). These numbers never change, so scripts and saved models keep their backend; the names work too: cdse-odata, stac, dhus, local (BACKEND=local).&lt;br&gt;&lt;b&gt;URL&lt;/b&gt; (URL): the service address (default per backend) or the archive folder.&lt;br&gt;&lt;b&gt;Collection&lt;/b&gt; (COLLECTION): the STAC collection (e.g. sentinel-2-l2a).&lt;br&gt;&lt;b&gt;Authentication&lt;/b&gt; (AUTHCFG): a QGIS authentication configuration (user name and password) for services that need one; credentials are never stored in settings, logs or projects, and are sent only to the host of the service&apos;s URL.&lt;br&gt;Timeouts and the retry deadline are the plugin&apos;s settings (Settings &gt; Options &gt; Processing &gt; Providers &gt; Label Migration); a server that does not answer, or answers something that is not a catalogue&apos;s answer, ends the search with a message naming it.&lt;br&gt;&lt;b&gt;Scenes&lt;/b&gt; (OUTPUT): scene footprints with id, title, backend, datetime, cloud_cover, tile, product_type, offset_days (scene time minus label date), coverage_pct (share of the label footprint the scene covers), label and rank (1 = best: coverage, then cloud, then |offset|).&lt;br&gt;&lt;b&gt;Match table&lt;/b&gt; (OUTPUT_TABLE): CSV, one row per label-scene match.&lt;br&gt;&lt;br&gt;Example: &lt;code&gt;qgis_process run labelmigration:searchscenes -- FOOTPRINTS=footprints.gpkg DATE_FIELD=date BACKEND=3 URL=/data/sentinel2 MAX_CLOUD=20 OUTPUT=scenes.gpkg OUTPUT_TABLE=matches.csv&lt;/code&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../processing/segment.py" line="22"/>
        <source>Runs any ONNX segmentation model (Deepness-compatible metadata) over a raster of any size, tiled with centre-weighted blending.&lt;br&gt;&lt;br&gt;&lt;b&gt;Image&lt;/b&gt; (INPUT): the raster; nodata stays nodata.&lt;br&gt;&lt;b&gt;Model&lt;/b&gt; (MODEL): the ONNX file.&lt;br&gt;&lt;b&gt;Bands&lt;/b&gt; (BANDS): comma-separated band names or numbers, overriding the model&apos;s band list.&lt;br&gt;&lt;b&gt;Classes&lt;/b&gt; (CLASSES): optional class config, a JSON file or text: a list of &lt;code&gt;{&quot;name&quot;: ..., &quot;color&quot;: &quot;#rrggbb&quot;, &quot;filter&quot;: ...}&lt;/code&gt; (class 1 first); its names and colours are used. Otherwise the model&apos;s class names, and its class colours (class_colors metadata, as trainsegmentation writes) or a palette.&lt;br&gt;&lt;b&gt;Input scaling&lt;/b&gt; (INPUT_SCALING): what the image&apos;s values are, as in cloudmask: 0 = automatic, 1 = raw DN (the model&apos;s reflectance_scale applies), 2 = reflectance 0-1, 3 = 8-bit 0-255; the model&apos;s input is (r / 255 - standardization_mean) / standardization_std as in Deepness. The log says what was decided; WARNINGS lists the run&apos;s warnings, e.g. an input implausible for the model.&lt;br&gt;&lt;b&gt;Threshold&lt;/b&gt; (THRESHOLD): pixels whose best probability is below it become class 0 (default: the model&apos;s seg_thresh).&lt;br&gt;&lt;b&gt;Resample to the model&apos;s resolution&lt;/b&gt; (RESAMPLE): yes by default: the model runs on the image resampled (bilinear) to the model&apos;s resolution, as in Deepness, and the outputs come back onto the image&apos;s grid.&lt;br&gt;&lt;b&gt;Model resolution&lt;/b&gt; (MODEL_RESOLUTION): in cm per pixel; 0 = the model&apos;s &lt;code&gt;resolution&lt;/code&gt; metadata.&lt;br&gt;&lt;b&gt;Small-segment filter&lt;/b&gt; (SMALL_SEGMENT): Deepness&apos;s median filter of the class map (odd size derived from the model&apos;s &lt;code&gt;seg_small_segment&lt;/code&gt; when empty; 0 = none).&lt;br&gt;&lt;b&gt;Classes&lt;/b&gt; (OUTPUT): uint8 class raster with a colour table, 255 nodata; a model with several outputs (heads) gives one band per head, named after the head.&lt;br&gt;&lt;b&gt;Heatmaps&lt;/b&gt; (OUTPUT_HEATMAPS): optional, one float32 probability band per class.&lt;br&gt;&lt;b&gt;Counts&lt;/b&gt; (OUTPUT_COUNTS): optional CSV of pixels and area per class (they sum to the valid pixels).&lt;br&gt;The outputs appear together or not at all. NaN pixels of the image are nodata; an image without a valid pixel, or a model that returns NaN for any valid pixel, fails the run and writes nothing.&lt;br&gt;&lt;br&gt;Example: &lt;code&gt;qgis_process run labelmigration:segment -- INPUT=image.tif MODEL=landuse.onnx CLASSES=classes.json OUTPUT=classes.tif OUTPUT_COUNTS=counts.csv&lt;/code&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../processing/train_segmentation.py" line="13"/>
        <source>Train segmentation model</source>
        <translation>Segmentierungsmodell trainieren</translation>
    </message>
    <message>
        <location filename="../processing/train_segmentation.py" line="15"/>
        <source>Trains a multi-class U-Net on a dataset that &lt;i&gt;Export dataset for machine learning&lt;/i&gt; wrote, and exports it as an ONNX model with Deepness-compatible metadata that &lt;i&gt;Segment with a model&lt;/i&gt; runs. The training runs in a separate Python process (the Python QGIS runs) and needs PyTorch and onnx there: install them from Plugins &gt; Label Migration &gt; Python dependencies… (optional; PyTorch's CPU-only build, about 200 MB to download, 750 MB installed). Without them the run stops and says exactly what to install.&lt;br&gt;&lt;br&gt;&lt;b&gt;Dataset folder&lt;/b&gt; (DATASET): the OUTPUT folder of exportdataset. Its classes (label values), names and colours come from its STAC collection; the train split trains, the validation split picks the epoch kept (the best mean IoU), the test split gives the figures of the model card. Pixels that are nodata, cloud or cloud shadow in a chip's cloud mask are left out.&lt;br&gt;&lt;b&gt;Epochs&lt;/b&gt; (EPOCHS), default 30: passes over the train chips; the log shows the loss and the validation mean IoU of each.&lt;br&gt;&lt;b&gt;Batch size&lt;/b&gt; (BATCH_SIZE), default 8, and &lt;b&gt;Learning rate&lt;/b&gt; (LEARNING_RATE), default 0.003 (the peak of a one-cycle schedule).&lt;br&gt;&lt;b&gt;Patch size&lt;/b&gt; (PATCH_SIZE) in pixels, default 0: each train chip gives one random patch of this size per epoch (0 = the whole chip).&lt;br&gt;&lt;b&gt;Seed&lt;/b&gt; (SEED), default 0: the same dataset and seed give the same model on the same machine.&lt;br&gt;&lt;b&gt;Model&lt;/b&gt; (OUTPUT_MODEL): the ONNX file. Channel &lt;i&gt;c&lt;/i&gt; of its output is label value &lt;i&gt;c&lt;/i&gt;, so the class raster segment writes holds the dataset's values; its metadata carry the class names, the band names, the resolution, the tile size (the chip size) and the standardisation.&lt;br&gt;&lt;b&gt;Model card&lt;/b&gt; (OUTPUT_CARD): a markdown file with the data, the settings and the per-class IoU, precision and recall on the test split, and what each figure is; default: beside the model, &lt;code&gt;&amp;lt;model&amp;gt;.md&lt;/code&gt;.&lt;br&gt;Both files appear only once the training finished; cancelling stops the training process at once and writes nothing. BEST_EPOCH, VALIDATION_MEAN_IOU and TEST_MEAN_IOU give the figures.&lt;br&gt;&lt;br&gt;Example: &lt;code&gt;qgis_process run labelmigration:trainsegmentation -- DATASET=/data/dataset EPOCHS=40 BATCH_SIZE=8 LEARNING_RATE=0.003 PATCH_SIZE=128 SEED=1 OUTPUT_MODEL=/data/model.onnx&lt;/code&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../processing/train_segmentation.py" line="47"/>
        <source>Epoch kept</source>
        <translation>Behaltene Epoche</translation>
    </message>
    <message>
        <location filename="../processing/train_segmentation.py" line="47"/>
        <source>Validation mean IoU</source>
        <translation>Mittlere IoU (Validierung)</translation>
    </message>
    <message>
        <location filename="../processing/train_segmentation.py" line="48"/>
        <source>Test mean IoU</source>
        <translation>Mittlere IoU (Test)</translation>
    </message>
    <message>
        <location filename="../processing/train_segmentation.py" line="55"/>
        <source>Epochs</source>
        <translation>Epochen</translation>
    </message>
    <message>
        <location filename="../processing/train_segmentation.py" line="57"/>
        <source>Batch size</source>
        <translation>Batchgröße</translation>
    </message>
    <message>
        <location filename="../processing/train_segmentation.py" line="59"/>
        <source>Learning rate</source>
        <translation>Lernrate</translation>
    </message>
    <message>
        <location filename="../processing/train_segmentation.py" line="61"/>
        <source>Patch size (pixels, 0 = whole chips)</source>
        <translation>Ausschnittgröße (Pixel, 0 = ganze Kacheln)</translation>
    </message>
    <message>
        <location filename="../processing/train_segmentation.py" line="67"/>
        <source>Model card</source>
        <translation>Modellbeschreibung</translation>
    </message>
    <message>
        <location filename="../processing/train_segmentation.py" line="67"/>
        <source>Markdown (*.md)</source>
        <translation>Markdown (*.md)</translation>
    </message>
    <message>
        <location filename="../processing/train_segmentation.py" line="85"/>
        <source>Model {} (epoch {} kept); model card {}</source>
        <translation>Modell {} (Epoche {} behalten); Modellbeschreibung {}</translation>
    </message>
    <message>
        <location filename="../processing/coregistration_parameters.py" line="30"/>
        <source>Minimum shift confidence to move the label</source>
        <translation>Mindestkonfidenz der Verschiebung zum Verschieben des Labels</translation>
    </message>
    <message>
        <location filename="../processing/migrate_labels.py" line="34"/>
        <source>Moves a whole label set onto Sentinel-2 in one run: for each label it searches the scenes around the label&apos;s date, chooses the one with the least cloud and cloud shadow over the label itself (the SCL band of L2A products, read for the label&apos;s window only; otherwise the cloud model, with its shadow class when it has one), then the smallest time offset, then the best coverage, and writes an aligned image/label pair. Tiles of one datatake are mosaicked when a label straddles them. A re-run skips the pairs that are complete and verified.&lt;br&gt;&lt;br&gt;&lt;b&gt;Label folder&lt;/b&gt; (LABELS): a folder of georeferenced label rasters (GeoTIFF), or PNG/JPEG labels each beside the georeferenced image it was drawn on, matched by name (&lt;i&gt;area1_label.png&lt;/i&gt; with &lt;i&gt;area1_visual.tif&lt;/i&gt;).&lt;br&gt;&lt;b&gt;Label files&lt;/b&gt; (LABEL_FILES): or (also) a list of label files.&lt;br&gt;&lt;b&gt;Date pattern&lt;/b&gt; (DATE_PATTERN): a regular expression finding the date in a file name; groups named year, month, day, or three groups in that order. Default: YYYYMMDD, YYYY-MM-DD or YYYY_MM_DD.&lt;br&gt;&lt;b&gt;Dates CSV&lt;/b&gt; (DATES_CSV): or a CSV with the columns label,date.&lt;br&gt;&lt;b&gt;Date&lt;/b&gt; (DATE): or one date for every label.&lt;br&gt;&lt;b&gt;Backend&lt;/b&gt; (BACKEND): 0 Copernicus Data Space OData, 1 STAC API, 2 a DHuS hub (the public Copernicus hubs, the Copernicus Open Access Hub among them, closed in 2023; sentinelsat works only against a national mirror that still runs DHuS, given by URL), 3 a local archive (a folder of SAFE products; URL is the folder); these numbers never change, and the names work too: cdse-odata, stac, dhus, local (BACKEND=local). OData and DHuS products are downloaded to OUTPUT_FOLDER/downloads (at most 4 at a time); STAC assets are read window by window, the items of ESA&apos;s EOPF catalogue (https://stac.core.eopf.eodc.eu) from their Zarr products, only the chunks under each label; the JP2 band files of CDSE STAC items (https://stac.dataspace.copernicus.eu/v1/) through their HTTPS alternates with the Copernicus Data Space token of AUTHCFG (at most 4 requests to CDSE at once).&lt;br&gt;&lt;b&gt;URL&lt;/b&gt; (URL), &lt;b&gt;Collection&lt;/b&gt; (COLLECTION), &lt;b&gt;Authentication&lt;/b&gt; (AUTHCFG): as in &lt;i&gt;Search Sentinel-2 scenes&lt;/i&gt;.&lt;br&gt;&lt;b&gt;Download URL&lt;/b&gt; (DOWNLOAD_URL) and &lt;b&gt;Token URL&lt;/b&gt; (TOKEN_URL), advanced: for BACKEND 0 (Copernicus Data Space OData) and CDSE STAC assets, the download service&apos;s base address (the part before /Products(&amp;lt;Id&amp;gt;)/$value) and the OpenID token endpoint of a private or test deployment. Default: the public Copernicus Data Space addresses.&lt;br&gt;&lt;b&gt;Days before&lt;/b&gt; (DAYS_BEFORE) and &lt;b&gt;Days after&lt;/b&gt; (DAYS_AFTER): the search window (default 10, at most 3650).&lt;br&gt;&lt;b&gt;Maximum cloud cover&lt;/b&gt; (MAX_CLOUD): scene cloud cover in %, a first filter (default 30, as in &lt;i&gt;Search Sentinel-2 scenes&lt;/i&gt;): the cloud over the label decides among the scenes that pass, and a scene cloudy elsewhere is often clear over the label, so a strict scene-wide limit loses usable scenes.&lt;br&gt;&lt;b&gt;Product&lt;/b&gt; (PRODUCT): L1C (0) or L2A (1, default).&lt;br&gt;&lt;b&gt;Bands&lt;/b&gt; (BANDS): the bands of the images, comma-separated (default B02,B03,B04,B08).&lt;br&gt;&lt;b&gt;Landsat&lt;/b&gt;: with BACKEND=stac and COLLECTION=landsat-c2-l2 (Landsat 8/9 Collection 2 Level-2, Planetary Computer or Earth Search) the labels migrate onto Landsat: B01 B02 B03 B04 B08 (or B8A) B11 B12 map to the assets coastal blue green red nir08 swir16 swir22 (common names work too; the red-edge bands B05-B07, B09 and B10 have no Landsat counterpart and fail the label); pairs lie on the 30 m grid; the images keep Landsat DN (uint16, nodata 0) with each band&apos;s scale and offset to surface reflectance (reflectance = DN * 0.0000275 - 0.2, or the item&apos;s raster:bands) in the GeoTIFF and the metadata PIXEL_VALUES; qa_pixel&apos;s cloud, dilated cloud, cirrus and cloud shadow bits rate the cloud over the label in place of SCL; the scene&apos;s tile is its WRS-2 path/row (PPP/RRR).&lt;br&gt;&lt;b&gt;Input scaling&lt;/b&gt; (INPUT_SCALING): what the scenes&apos; values are for the cloud model: 0 = automatic, 1 = raw DN, 2 = reflectance 0-1, 3 = 8-bit 0-255 (as in cloudmask). WARNINGS lists the run&apos;s warnings.&lt;br&gt;&lt;b&gt;Cloud model&lt;/b&gt; (CLOUD_MODEL): an ONNX cloud model for scenes without SCL (default: the bundled model when installed; without one the scene cloud cover ranks them and the reason says so). Its class names say which class is cloud and which cloud shadow, as in cloudmask.&lt;br&gt;&lt;b&gt;Cloud masks&lt;/b&gt; (CLOUD_MASKS): writes OUTPUT_FOLDER/masks/&amp;lt;label&amp;gt;.tif per pair (1 cloud, 2 cloud shadow, 0 clear, 255 nodata, on the pair&apos;s grid) with the cloud model (the one rating already ran on the same crop is reused; shadow where the model has a shadow class), or, without a model, from the SCL band of L2A products (classes 8, 9, 10 cloud, 3 cloud shadow); a Landsat pair&apos;s mask always comes from its qa_pixel band (dilated cloud, cirrus and cloud bits 1, cloud shadow 2). Default: on when a cloud model is installed; the log says which source was used.&lt;br&gt;&lt;b&gt;Co-register&lt;/b&gt; (COREGISTER): 0 (default) measures the shift between each label&apos;s source image and the Sentinel-2 pair by sub-pixel phase correlation (matches.csv shift_x_m, shift_y_m in metres, shift_confidence 0 to 1; empty when unknown); 1 also moves the label by minus the shift when shift_confidence is MIN_SHIFT_CONFIDENCE (default 0.5) or more (label_moved_m). A label&apos;s source image: the reference raster of a PNG/JPEG label, else a raster named as the label in SOURCE_IMAGES, else &amp;lt;label&amp;gt;_source.tif beside the label. Every pair also gets a change_score (0: the Sentinel-2 pixels still fit the label); the report lists the outliers under &apos;Check these labels&apos;.&lt;br&gt;&lt;b&gt;Minimum shift confidence&lt;/b&gt; (MIN_SHIFT_CONFIDENCE), advanced: the shift_confidence (0 to 1, default 0.5) from which COREGISTER=1 moves a label; raise it to move only on a clear match.&lt;br&gt;&lt;b&gt;Source images&lt;/b&gt; (SOURCE_IMAGES): a folder of the labels&apos; source images, named as the labels.&lt;br&gt;&lt;b&gt;Executor&lt;/b&gt; (EXECUTOR): empty for the local pool, or a Dask scheduler address such as tcp://10.0.0.5:8786 (its workers need this plugin importable as &lt;i&gt;labelmigration&lt;/i&gt; and the same paths; each worker process logs in to CDSE and keeps to its 4 connections on its own, so run one worker process per machine for CDSE).&lt;br&gt;&lt;b&gt;Workers&lt;/b&gt; (WORKERS): threads of the local pool (0 = one per core, at most 256).&lt;br&gt;&lt;b&gt;Export dataset&lt;/b&gt; (EXPORT_DATASET), default off: after the run, exports the pairs as a machine-learning dataset into OUTPUT_FOLDER/dataset (DATASET) with the defaults of &lt;i&gt;Export dataset for machine learning&lt;/i&gt; (exportdataset): 256-pixel chips, STAC catalogue, GeoParquet index, blocked splits.&lt;br&gt;&lt;b&gt;Output folder&lt;/b&gt; (OUTPUT_FOLDER): receives images/&amp;lt;label&amp;gt;.tif, labels/&amp;lt;label&amp;gt;.tif, matches.csv (MATCHES; footprint_cloud_pct counts cloud and cloud shadow over the label, footprint_shadow_pct the shadow part of it), footprints.gpkg (FOOTPRINTS, with a second layer &apos;scenes&apos;: the chosen scenes&apos; footprints) and report.html (REPORT). From the dialog the results load as a layer group &apos;Label migration: &amp;lt;folder&amp;gt;&apos;: label footprints, chosen scenes, and the pairs (image, label, cloud mask; at most 50, in collapsed sub-groups). PAIRS counts the complete pairs, FAILED the labels that failed (the reasons are in matches.csv and the report). A run in which no label got a pair fails; its matches.csv and report still say why. Labels whose names cannot be file names as they are get a safe file name (the log and matches.csv name it).&lt;br&gt;&lt;br&gt;Example: &lt;code&gt;qgis_process run labelmigration:migratelabels -- LABELS=/data/labels BACKEND=3 URL=/data/sentinel2 DAYS_BEFORE=15 DAYS_AFTER=15 OUTPUT_FOLDER=/data/migrated&lt;/code&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="30"/>
        <source>Label Migration cloud model, 6 bands with SWIR (bundled)</source>
        <translation>Label-Migration-Wolkenmodell, 6 Bänder mit SWIR (mitgeliefert)</translation>
    </message>
    <message>
        <location filename="../processing/cloud_mask.py" line="51"/>
        <source>Runs an ONNX cloud segmentation model (a U-Net exported with the Deepness metadata keys: a single-channel sigmoid, or classes such as clear / cloud / cloud shadow) over a raster of any size: tiles with overlap, blended towards tile centres so no seams appear, streamed block by block.&lt;br&gt;&lt;br&gt;&lt;b&gt;Image&lt;/b&gt; (INPUT): the raster to mask; nodata stays nodata.&lt;br&gt;&lt;b&gt;Model&lt;/b&gt; (MODEL): an ONNX file (optional). Its metadata name the bands it needs (matched to band descriptions such as B02/blue ... B08/nir, B11/swir16, B12/swir22) and its scaling. When given, it wins over the built-in model.&lt;br&gt;&lt;b&gt;Built-in model&lt;/b&gt; (BUILTIN_MODEL), used when MODEL is empty: 0 = the Label Migration cloud model bundled with the plugin (4 bands B02 B03 B04 B08); 1 to 4 = the cloud/shadow U-Nets of the ukis-csmask package (pip install ukis-csmask==1.0.0): 1 = 4 bands L1C, 2 = 4 bands L2A, 3 = 6 bands L1C, 4 = 6 bands L2A (B02 B03 B04 B08 B11 B12); 5 = the Label Migration model's 6-band variant, bundled too (B02 B03 B04 B08 B11 B12; cross-validated on L8 Biome, cloud IoU 0.68 against the 4-band model's 0.61, on snow and ice 0.50 against 0.28: models/cloud_s2_6band.md). They take reflectance: a raster without scale/offset metadata is read as DN / 10000 (give products from baseline 04.00 on with their offset applied, e.g. safetogeotiff REFLECTANCE, or say what the values are with INPUT_SCALING); a SAFE product's own band files (a VRT over its JPEG 2000 files, or the product as QGIS opens a dropped SAFE zip, its bands B4, B3, B2, B8 matched by name) are read with the quantification and offset of the product's metadata. An 8-bit image (a JPEG, PNG or display stretch) holds no reflectance: the run warns that it looks darker than any real scene.&lt;br&gt;&lt;b&gt;Classes&lt;/b&gt;: the model's class names decide, case-insensitively, which class is cloud (a name with 'cloud' or 'cirrus': cloud, clouds, thick cloud ...) and which is cloud shadow (a name with 'shadow': shadow, cloud shadow, cloud_shadow); a single-channel model is cloud only; a model whose names name no cloud has class 1 as cloud (with a warning). The log says what was decided.&lt;br&gt;&lt;b&gt;Bands&lt;/b&gt; (BANDS): comma-separated band names or numbers, overriding the model's band list.&lt;br&gt;&lt;b&gt;Input scaling&lt;/b&gt; (INPUT_SCALING): what the image's values are: 0 = automatic (bands with a scale/offset make reflectance with it, Byte rasters are 8-bit, integer bands DN, floating-point bands reflectance when their values are at most 2, else DN; USGS Landsat Collection 2 Level-2 surface reflectance files, known by their product id (LC08_L2SP_...), are read with USGS's scale 0.0000275 and offset -0.2, which their bands do not declare; Level-1 band files (LC08_L1TP_..._B4.TIF, alone or stacked in a VRT) are read as top-of-atmosphere reflectance with the factors and sun elevation of the product's _MTL.txt, which must lie beside them), 1 = raw DN (the model's reflectance_scale applies), 2 = reflectance 0-1, 3 = 8-bit 0-255. The log says what was decided; WARNINGS lists the run's warnings, e.g. an input implausible for the model.&lt;br&gt;&lt;b&gt;Threshold&lt;/b&gt; (THRESHOLD): cloud probability from which a pixel is cloud (default: the model's seg_thresh; without one a single-channel model uses 0.5 and a model with classes the most probable class, as for ukis-csmask). With SHADOW, a pixel that is not cloud is shadow where the shadow probability reaches the threshold (without one: where shadow is the most probable class).&lt;br&gt;&lt;b&gt;Mark cloud shadow&lt;/b&gt; (SHADOW): when ticked (default: not) the mask also marks cloud shadow with 2, for models with a shadow class (ukis-csmask's, the bundled model when it has one); the log says so when the model has none.&lt;br&gt;&lt;b&gt;Tile size&lt;/b&gt; (TILE_SIZE) and &lt;b&gt;Overlap&lt;/b&gt; (OVERLAP) in pixels: 0 = the model's own. Tiles are at most 8192 pixels, overlaps at most half a tile; tiles that would not fit the memory limit are refused before the run.&lt;br&gt;&lt;b&gt;Cloud mask&lt;/b&gt; (OUTPUT): uint8, 1 cloud, 0 clear, 255 nodata, and 2 cloud shadow with SHADOW.&lt;br&gt;&lt;b&gt;Cloud probability&lt;/b&gt; (OUTPUT_PROBABILITY): optional float32, the cloud class's probability.&lt;br&gt;&lt;b&gt;Cloud polygons&lt;/b&gt; (OUTPUT_VECTOR): optional polygons of the clouds, without specks smaller than &lt;b&gt;Minimum area&lt;/b&gt; (MIN_AREA) in the raster's units² (m² for UTM; default 1000).&lt;br&gt;CLOUD_PERCENT is the share of valid pixels that are cloud, SHADOW_PERCENT the share that is cloud shadow (0 without SHADOW or a shadow class). NaN pixels of the image are nodata, and so is DN 0 of 16-bit bands that declare no nodata, for a model that reads reflectance as the bundled ones do (the fill value of Sentinel-2 and USGS Landsat products; the log says so); an image without a valid pixel, or a model that returns NaN for any valid pixel, fails the run and writes nothing.&lt;br&gt;&lt;br&gt;Example: &lt;code&gt;qgis_process run labelmigration:cloudmask -- INPUT=pair_image.tif MODEL=cloud.onnx OUTPUT=cloud_mask.tif&lt;/code&gt;, or with &lt;code&gt;BUILTIN_MODEL=2&lt;/code&gt; instead of MODEL for ukis-csmask's 4-band L2A model.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../processing/crop_scene.py" line="28"/>
        <source>Cuts the scene pixels under a label and puts the label on exactly the same grid, so the two form an aligned training pair. Only the needed window of the scene is read, so a remote Cloud-Optimised GeoTIFF (&lt;code&gt;/vsicurl/https://...&lt;/code&gt;) costs a few requests.&lt;br&gt;&lt;br&gt;&lt;b&gt;Scene&lt;/b&gt; (SCENE): any GDAL raster: GeoTIFF, VRT or a /vsicurl/ COG; or a Sentinel-2 product (.SAFE folder, zip or MTD_MSIL1C.xml / MTD_MSIL2A.xml, or an EOPF Zarr product: a .zarr folder or URL, Zarr v2 or v3), cropped straight from its bands on the 10 m grid (bands of 20 and 60 m resampled bilinearly) without converting it first; of a Zarr product only the chunks under the label are read.&lt;br&gt;&lt;b&gt;Search result&lt;/b&gt; (SCENES): instead of SCENE, a &lt;i&gt;searchscenes&lt;/i&gt; output (layer or file): its scene of rank RANK is cropped (a local product, or a remote GeoTIFF read through /vsicurl/). When the result holds several labels, the one named like the label file is used. This chains searchscenes to cropscene in the graphical modeler.&lt;br&gt;&lt;b&gt;Rank&lt;/b&gt; (RANK): which scene of the search result, 1 = the best (default).&lt;br&gt;&lt;b&gt;Other tiles&lt;/b&gt; (OTHER_TILES): further Sentinel-2 products of the same datatake, mosaicked with the scene when the label straddles MGRS tiles.&lt;br&gt;&lt;b&gt;Label&lt;/b&gt; (LABEL): a georeferenced label raster, in any CRS (e.g. EPSG:3035 label, UTM scene).&lt;br&gt;&lt;b&gt;Bands&lt;/b&gt; (BANDS): scene bands to keep by number, in order (default: all).&lt;br&gt;&lt;b&gt;Band names&lt;/b&gt; (BAND_NAMES): or by name, comma-separated: band descriptions, or Sentinel-2 band names for products, e.g. &lt;code&gt;B02,B03,B04,B08&lt;/code&gt;.&lt;br&gt;&lt;b&gt;Label resampling&lt;/b&gt; (LABEL_RESAMPLING): nearest (default) or mode (majority class, better when the label is much finer than the scene).&lt;br&gt;&lt;b&gt;Image&lt;/b&gt; (OUTPUT_IMAGE): the scene&apos;s own pixels, CRS and grid (never resampled) over the label&apos;s bounding box; pixels outside the label&apos;s footprint are nodata. It keeps the scene&apos;s scale/offset; DN of a Sentinel-2 product&apos;s own band files without one (a VRT over its JPEG 2000 files, the product as QGIS opens a dropped SAFE zip, or a copy of that) get the product&apos;s: 1/10000 and the offset of processing baseline 04.00 and later (-1000 DN).&lt;br&gt;&lt;b&gt;Label on image grid&lt;/b&gt; (OUTPUT_LABEL): the label on exactly the image&apos;s grid; nodata outside the label.&lt;br&gt;&lt;b&gt;Co-register&lt;/b&gt; (COREGISTER): 0 (default) measures the shift between the label&apos;s source image and the image by sub-pixel phase correlation (SHIFT_X_M, SHIFT_Y_M in metres: where the source shows a feature minus where the scene shows it; SHIFT_CONFIDENCE 0 to 1); 1 also moves the label by minus the shift when SHIFT_CONFIDENCE is MIN_SHIFT_CONFIDENCE (default 0.5) or more (LABEL_MOVED_M). CHANGE_SCORE: how badly the image fits the label (0 fits; core.quality.change).&lt;br&gt;&lt;b&gt;Minimum shift confidence&lt;/b&gt; (MIN_SHIFT_CONFIDENCE), advanced: the SHIFT_CONFIDENCE (0 to 1, default 0.5) from which COREGISTER=1 moves the label; raise it to move only on a clear match.&lt;br&gt;&lt;b&gt;Source image&lt;/b&gt; (SOURCE_IMAGE): the image the label was drawn on (default: &amp;lt;label&amp;gt;_source.tif beside the label; without one no shift is measured).&lt;br&gt;A label partly outside the scene is cropped to what overlaps; COVERED_PERCENT reports the share of the label footprint inside the scene and NODATA_PERCENT the share of label pixels without image data.&lt;br&gt;&lt;br&gt;Example: &lt;code&gt;qgis_process run labelmigration:cropscene -- SCENE=S2_T32UPU.tif LABEL=mask.tif OUTPUT_IMAGE=pair_image.tif OUTPUT_LABEL=pair_label.tif&lt;/code&gt;; or the best scene of a search: &lt;code&gt;SCENES=scenes.gpkg RANK=1&lt;/code&gt; instead of SCENE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../processing/stack_bands.py" line="15"/>
        <source>Stacks single-band rasters, such as 38-Cloud&apos;s red_, green_, blue_ and nir_ patches or per-band Sentinel-2 files, into one multiband GeoTIFF in the order given.&lt;br&gt;&lt;br&gt;&lt;b&gt;Input bands&lt;/b&gt; (INPUTS): single-band rasters of one grid (same size, geotransform and CRS); mismatches stop with an error naming the file.&lt;br&gt;&lt;b&gt;Band names&lt;/b&gt; (BAND_NAMES): optional comma-separated names, one per input; by default each input&apos;s band description, the 38-Cloud prefix (red, green, ...), a Sentinel-2 band file&apos;s band (T32UPC_20230615T101559_B02_10m.jp2: B02) or the file name.&lt;br&gt;&lt;b&gt;Stacked raster&lt;/b&gt; (OUTPUT): GeoTIFF with band descriptions set; each band keeps its input&apos;s scale/offset, and a Sentinel-2 band file without one (from a SAFE product, in it or copied out of it) gets its product&apos;s (1/10000, and -1000 DN from processing baseline 04.00 on), so models read the stack as reflectance.&lt;br&gt;&lt;br&gt;Example: &lt;code&gt;qgis_process run labelmigration:stackbands -- INPUTS=red_patch_1.tif INPUTS=green_patch_1.tif INPUTS=blue_patch_1.tif INPUTS=nir_patch_1.tif OUTPUT=patch_1.tif&lt;/code&gt;</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
