"""A synthetic data set in Real-IAD's exact layout (paper 4.1, docs/data.md).

Real-IAD itself (151,050 photographs) is large and licensed separately; this
package renders a stand-in with the same folders, file names, split files and
quirks, so that every part of mtfcdd can be run and tested end to end:

- objects of several kinds (metal washer, bottle cap, PCB, rocker switch,
  toy brick, audio jack, ...) are drawn procedurally as surface maps (albedo,
  height, coverage, gloss) and shaded under a directional light;
- each sample (``S0001``) is one physical object seen by five cameras
  ``C1..C5``: a top view and four oblique views, each with its own rotation,
  perspective and lighting;
- the eight defect types of ``DEFECT_CODES`` are rendered into the surface
  maps, so a defect moves with the object from view to view. A defect is
  visible from some cameras only: the other views of a defective sample are
  filed under ``NG/`` but labelled ``"OK"`` with no mask, as in Real-IAD;
- a mask marks exactly the pixels the defect altered: the defective render is
  compared with the clean render of the same view (same sensor noise), and
  every pixel that differs by at most ``MASK_THRESHOLD`` levels is copied
  from the clean render;
- the FUIAD split files ``realiad_jsons_fuiad_<alpha>`` hold a training
  split of the same size for every alpha, ``alpha`` of it defective with
  labels, and one test split shared by all alphas.

The output is the same, byte for byte, for the same preset and seed.

The modules, each using only those above it in this list:

    presets         the sizes ``tiny``, ``demo`` and ``full``
    drawing         surface maps and the primitives that paint them
    components      the electronic objects: board, switch, terminal block, jack
    objects         the ten object kinds, ``SYNTHETIC_OBJECTS``
    defects         the eight defect types of paper Table 1, ``DEFECTS``
    camera          five cameras, shading, photographing a view
    render          a sample's five views and masks, ``render_sample``
    dataset         planning, writing files and splits, ``make_synthetic_iad``
    contact_sheets  a page of examples per defect type, ``write_contact_sheets``
    layouts         the same in the folder and MVTec layouts, your type names

This file imports nothing: the command line lists the presets without
loading OpenCV or NumPy.
"""
