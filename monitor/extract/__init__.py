"""Extract stage: owns turning a page's HTML into the text, title and links that are compared.

normalize.py holds the profiles (`defense.gov`, `generic`) and the BeautifulSoup walk; regions.py cuts a page
down to its profile's content regions with lxml and fingerprints the cut (the fast path); treetext.py reads
text from that cut exactly as normalize would. All pure: an `HtmlBody` or text in, a `PageContent` out.
"""

from monitor.extract.normalize import PROFILES, explain, extract, normalize
from monitor.extract.places import describe, is_chrome, locate
from monitor.extract.regions import cut_target

__all__ = ["PROFILES", "cut_target", "describe", "explain", "extract", "is_chrome", "locate", "normalize"]
