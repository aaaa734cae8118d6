"""tools/undecorate_for_mutmut.py: the rewritten module behaves as the decorated one (issue 19)."""
import importlib.util
import pathlib
import textwrap


ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("undecorate_for_mutmut", ROOT / "tools" / "undecorate_for_mutmut.py")
undecorate_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(undecorate_tool)

SOURCE = textwrap.dedent('''
    ORDER = []

    def tag(label):
        def deco(f):
            ORDER.append((label, f.__name__))
            f.label = getattr(f, "label", "") + label
            return f
        return deco

    @tag("outer")
    @tag("inner")
    def both(x, y=2):
        return x + y

    class K:
        @property
        def p(self):
            return 1

        @tag("method")
        def m(self):
            return 2

    @staticmethod
    def plain_static():
        return 3
''')


def test_decorators_become_assignments_applied_in_the_same_order():
    code, names = undecorate_tool.undecorate(SOURCE)
    assert names == ["both"]  # methods and @staticmethod are left alone
    assert "@tag(\"inner\")" not in code and "both = tag(\"outer\")(tag(\"inner\")(both))" in code
    before, after = {}, {}
    exec(SOURCE, before)
    exec(code, after)
    assert after["ORDER"] == before["ORDER"] == [("inner", "both"), ("outer", "both"), ("method", "m")]
    assert after["both"](1) == before["both"](1) == 3 and after["both"].label == "innerouter"
    assert after["K"]().p == 1


def test_refuses_to_rewrite_the_checkout(capsys):
    assert undecorate_tool.main([str(ROOT / "tinygrad_loss" / "losses.py")]) == 2
    assert "scratch" in capsys.readouterr().err
