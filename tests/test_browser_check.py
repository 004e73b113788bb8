"""Tests for tests/browser_check.py (`make test-browser`) that need no browser: finding one, and
skipping with one clear line when there is none."""
from __future__ import annotations

import browser_check


def test_no_chromium_skips_with_one_line_when_asked(monkeypatch, capsys):
    monkeypatch.setenv("CHROMIUM", "/nonexistent/chromium")
    assert browser_check.find_chromium() is None
    assert browser_check.main(["--if-available"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("browser check skipped: no Chromium found; install Chromium")


def test_no_chromium_fails_when_the_check_is_asked_for(monkeypatch, capsys):
    monkeypatch.setenv("CHROMIUM", "/nonexistent/chromium")
    assert browser_check.main([]) == 1
    assert "no Chromium found" in capsys.readouterr().out


def test_chromium_named_in_the_environment_is_used(monkeypatch, tmp_path):
    browser = tmp_path / "my-chromium"
    browser.write_text("")
    monkeypatch.setenv("CHROMIUM", str(browser))
    assert browser_check.find_chromium() == str(browser)
