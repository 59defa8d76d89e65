"""The chat page: HTML and markdown with everything escaped (`render`), one chat turn (`chat`), the Gradio page
over an `App` (`page`), and binding, login and launch (`serve`).

The only package that imports gradio. It answers nothing itself: every question goes to the app's pipeline.
"""
