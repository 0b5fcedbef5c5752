"""A patient sets a profile photo through the plain file field and sees it on their profile,
then removes it: with JavaScript on (a boosted multipart post) and off (a plain form post)."""

from __future__ import annotations

import io

from browser.pagemarks import log_in, mark_page, still_marked
from PIL import ExifTags, Image
from playwright.sync_api import expect

from hms.models import ProfilePhoto


def test_patient_uploads_a_photo_sees_it_on_the_profile_and_removes_it(live_server, page,
                                                                        people, tmp_path):
    picture = Image.new("RGB", (900, 600), (40, 90, 160))
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 26.0)
    photo = tmp_path / "holiday.jpg"
    picture.save(photo, "JPEG", exif=exif)
    page.on("dialog", lambda dialog: dialog.accept())  # "Remove your photo?" (htmx confirm)

    log_in(page, live_server, "pat.one")
    page.get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", name="My profile")).to_be_visible()
    expect(page.get_by_text("No photo yet.")).to_be_visible()
    if page.js_enabled:
        mark_page(page)

    # A wrong file first: the message beside the field, nothing saved.
    wrong = tmp_path / "notes.jpg"
    wrong.write_text("not a picture")
    page.get_by_label("A photo: JPEG or PNG, up to 5 MB").set_input_files(wrong)
    page.get_by_role("button", name="Upload photo").click()
    expect(page.locator("#photo-error")).to_contain_text("not a JPEG or PNG photo")
    assert ProfilePhoto.select().count() == 0

    page.get_by_label("A photo: JPEG or PNG, up to 5 MB").set_input_files(photo)
    with page.expect_response(lambda r: "/photos/" in r.url) as fetched:
        page.get_by_role("button", name="Upload photo").click()
    expect(page.get_by_text("Your photo is saved.")).to_be_visible()
    image = page.get_by_role("img", name="Your photo")
    expect(image).to_be_visible()
    expect(image).to_have_attribute("width", "128")
    assert page.url == f"{live_server}/me/profile"
    kept = Image.open(io.BytesIO(bytes(ProfilePhoto.get(
        ProfilePhoto.user == people.user("pat.one").id).jpeg)))
    assert kept.size == (256, 171) and not kept.getexif()
    # The browser fetched the photo itself, logged in.
    assert (fetched.value.status, fetched.value.headers["content-type"]) == (200, "image/jpeg")

    page.get_by_role("button", name="Remove photo").click()
    if not page.js_enabled:  # without it, a page asks
        expect(page.get_by_role("heading", name="Remove your photo?")).to_be_visible()
        assert ProfilePhoto.select().count() == 1
        page.get_by_role("button", name="Yes, remove it").click()
    expect(page.get_by_text("Your photo is removed.")).to_be_visible()
    expect(page.get_by_text("No photo yet.")).to_be_visible()
    expect(page.get_by_role("img", name="Your photo")).to_have_count(0)
    assert ProfilePhoto.select().count() == 0
    if page.js_enabled:
        assert still_marked(page)  # every step was an htmx swap of the boosted forms
